"""The names one module defines and another looks up: asset groups, assets, checks, jobs and the metadata keys read
back by the CLI and the sensors. Defined once here, so a rename is one edit and a typo is an import error instead
of a lookup that silently finds nothing."""

from energy_pipeline.core.columns import TARGET_SPECS

# asset groups: one per stage of the package (`data/`, `models/`, `serving/`)
DATA_GROUP = "data"
MODELS_GROUP = "models"
SERVING_GROUP = "serving"

# assets
RAW_BUILDINGS = "raw_buildings"
CLEANED_BUILDINGS = "cleaned_buildings"
REJECTED_BUILDINGS = "rejected_buildings"
BUILDINGS_PROFILE = "buildings_profile"
TRAINING_DATA = "training_data"
FEATURE_ABLATION = "feature_ablation"
BENTO = "bento"
SERVING_IMAGE = "serving_image"
ECR_IMAGE = "ecr_image"


def candidates_asset(target_key: str) -> str:
    return f"{target_key}_candidates"


def forward_evaluation_asset(target_key: str) -> str:
    return f"{target_key}_forward_evaluation"


def model_asset(target_key: str) -> str:
    return f"{target_key}_model"


MODEL_ASSETS = tuple(model_asset(target.key) for target in TARGET_SPECS)
OPTIONAL_ASSETS = (SERVING_IMAGE, ECR_IMAGE)  # skipped, with the reason, where no builder or registry is

# checks: blocking data-quality gates, then the warnings of monitoring and of the champion gate
RAW_BUILDINGS_SCHEMA = "raw_buildings_schema"
CLEANED_BUILDINGS_SCHEMA = "cleaned_buildings_schema"
CLEANED_ROW_SHARE = "cleaned_row_share"
ROWS_ACCOUNTED_FOR = "rows_accounted_for"
CLEANED_BLOCKING_CHECKS = (CLEANED_BUILDINGS_SCHEMA, CLEANED_ROW_SHARE, ROWS_ACCOUNTED_FOR)  # training reads these
CLEANED_BUILDINGS_DRIFT = "cleaned_buildings_drift"
CHAMPION_PERFORMANCE_ON_YEAR = "champion_performance_on_year"


def champion_gate_check(target_key: str) -> str:
    return f"{target_key}_champion_gate"


# jobs
INGEST_JOB = "ingest_job"
PROFILE_JOB = "profile_job"
TRAINING_JOB = "training_job"
MONITORING_JOB = "monitoring_job"
ABLATION_JOB = "ablation_job"
SERVING_JOB = "serving_job"
ALL_JOBS = (INGEST_JOB, PROFILE_JOB, TRAINING_JOB, MONITORING_JOB, ABLATION_JOB, SERVING_JOB)  # `make run`'s order


class Meta:
    """Metadata keys that a module other than the one writing them reads (the CLI's summary, the sensors)."""

    ROW_COUNT = "dagster/row_count"
    LAYOUT = "layout"
    EXACT_DUPLICATES_COLLAPSED = "exact_duplicates_collapsed"
    SKIPPED = "skipped"
    CANDIDATES = "candidates"
    WINNER = "winner"
    SELECTION = "selection"
    RUNNER_UP = "runner_up"
    LEAD_OVER_RUNNER_UP = "lead_over_runner_up_r2_log"
    REGISTERED_MODEL = "registered_model"
    REGISTERED_VERSION = "registered_version"
    DECISION = "decision"
    REASON = "reason"
    CHAMPION_VERSION = "champion_version"
    CV_R2_LOG = "cv_r2_log"
    HOLDOUT_R2_LOG = "holdout_r2_log"
    HOLDOUT_MEDIAN_APE = "holdout_median_ape"
    PROTOCOL_2016_R2_LOG = "protocol_2016_r2_log"
    PROTOCOL_2016_MEDIAN_APE = "protocol_2016_median_ape"
    CONFIGURATION = "configuration"
    SCORED_YEARS = "scored_years"
    INTERVAL_NOVELTY_SCALE = "interval_novelty_scale"
    BENTO = "bento"
    SERVE = "serve"
    IMAGE = "image"
    BACKEND = "backend"
    SIZE_MB = "size_mb"
    URI = "uri"
    DIGEST = "digest"

    @staticmethod
    def buildings(population: str) -> str:
        return f"{population}_buildings"

    @staticmethod
    def pooled(population: str, metric: str) -> str:
        return f"pooled_{population}_{metric}"


class ModelKey:
    """Keys of the metadata logged with each registered model (`models/modelling.py`), read back by the service's
    model card and intervals and by the monitoring checks."""

    TARGET = "target"
    UNIT = "unit"
    WINNER = "winner"
    DATA_YEARS = "data_years"
    HOLDOUT_METRICS = "holdout_metrics"
    INTERVALS = "intervals"
    INTERVAL_LOG_HALFWIDTH = "interval_log_halfwidth"
    INTERVAL_COVERAGE = "interval_coverage"
    SELECTION = "selection"
    CV_METRICS = "cv_metrics"
    CODE_VERSION = "code_version"
    DRIFT_REFERENCE = "drift_reference"
    INPUT_CATEGORIES = "input_categories"
