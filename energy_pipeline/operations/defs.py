"""Operations in Dagster: the jobs, the retraining schedule, the sensors (a new export, a changed champion, a failed
run), declarative automation's sensor, and the monitoring checks that say when retraining is due. It wires the
stages together and computes nothing itself: drift and decay are `models/monitoring.py`."""

import json
from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.core import names
from energy_pipeline.core.columns import TARGET_SPECS
from energy_pipeline.core.names import Meta, ModelKey
from energy_pipeline.data.landing import LandingError
from energy_pipeline.models.monitoring import feature_drift, performance_decay
from energy_pipeline.models.tracking import load_model
from energy_pipeline.orchestration.alerting import FailureAlerts
from energy_pipeline.orchestration.concurrency import TRAINING_TAG
from energy_pipeline.orchestration.data_resources import LandingZone
from energy_pipeline.orchestration.metadata import markdown_table
from energy_pipeline.orchestration.partitions import DATA_YEARS, DATA_YEARS_NAME
from energy_pipeline.orchestration.settings import automation_starts_running, resolved
from energy_pipeline.orchestration.training_resources import MlflowTracking, MonitoringPolicy

DEFAULT_STATUS = dg.DefaultSensorStatus.RUNNING if automation_starts_running() else dg.DefaultSensorStatus.STOPPED

# Monitoring checks on each year's cleaned data (WARN, never blocking): drift from the champion's training inputs,
# and the champion's score on the year once its targets are known. They tell the team retraining is due.

# Below this many buildings a year's PSI or R² says nothing; the blocking row-share check deals with such a year.
MIN_ROWS_TO_MONITOR = 30


def _nothing_to_compare(why: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, description=why, metadata={"reference": why})


def _too_few_rows(frame: pd.DataFrame) -> dg.AssetCheckResult | None:
    if len(frame) >= MIN_ROWS_TO_MONITOR:
        return None
    return _nothing_to_compare(f"only {len(frame)} cleaned buildings (< {MIN_ROWS_TO_MONITOR}): nothing to measure")


@dg.asset_check(
    asset=names.CLEANED_BUILDINGS,
    name=names.CLEANED_BUILDINGS_DRIFT,
    partitions_def=DATA_YEARS,
    description="PSI per input feature between this year and the champion's training inputs (a profile stored "
    "with the model). WARN when a feature shifts beyond the threshold.",
)
def cleaned_buildings_drift(
    context: dg.AssetCheckExecutionContext,
    cleaned_buildings: pd.DataFrame,
    mlflow: MlflowTracking,
    monitoring: MonitoringPolicy,
) -> dg.AssetCheckResult:
    if (too_few := _too_few_rows(cleaned_buildings)) is not None:
        return too_few
    name = mlflow.model_name(TARGET_SPECS[0].key)
    champion = mlflow.tracker().champion_metadata(name)
    if champion is None or ModelKey.DRIFT_REFERENCE not in champion[1]:
        return _nothing_to_compare("no champion yet: nothing to compare with")
    version, metadata = champion
    rows = feature_drift(metadata[ModelKey.DRIFT_REFERENCE], cleaned_buildings, monitoring.psi_threshold)
    drifted = [r.feature for r in rows if r.drifted]
    return dg.AssetCheckResult(
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"drifted: {', '.join(drifted)}" if drifted else "no feature beyond the PSI threshold",
        metadata={
            "drifted_features": drifted,
            "max_psi": rows[0].psi if rows else 0.0,
            "psi_threshold": monitoring.psi_threshold,
            "reference": f"{name} v{version}, years {', '.join(metadata.get('data_years', []))}",
            "features": markdown_table([r.__dict__ for r in rows]),
        },
    )


@dg.asset_check(
    asset=names.CLEANED_BUILDINGS,
    name=names.CHAMPION_PERFORMANCE_ON_YEAR,
    partitions_def=DATA_YEARS,
    description="Each champion scored on this year's buildings (targets are known once a year is metered): "
    "WARN when R²(log) falls more than the allowed drop below its held-out score.",
)
def champion_performance_on_year(
    context: dg.AssetCheckExecutionContext,
    cleaned_buildings: pd.DataFrame,
    mlflow: MlflowTracking,
    monitoring: MonitoringPolicy,
) -> dg.AssetCheckResult:
    if (too_few := _too_few_rows(cleaned_buildings)) is not None:
        return too_few
    tracker, rows = mlflow.tracker(), list[dict[str, Any]]()
    for target in TARGET_SPECS:
        name = mlflow.model_name(target.key)
        champion = tracker.champion_metadata(name)
        if champion is None:
            continue
        version, metadata = champion
        decay = performance_decay(
            load_model(f"models:/{name}/{version}"),
            cleaned_buildings,
            target.column,
            float(metadata[ModelKey.HOLDOUT_METRICS]["r2_log"]),
            seen=context.partition_key in metadata.get(ModelKey.DATA_YEARS, []),
        )
        rows.append(
            {
                "model": f"{name} v{version}",
                "r2_log_this_year": round(decay.metrics["r2_log"], 4),
                "median_ape_this_year": round(decay.metrics["median_ape"], 4),
                "r2_log_holdout": round(decay.reference_r2_log, 4),
                "drop": round(decay.drop, 4),
                "seen_in_training": decay.seen_in_training,
            }
        )
    if not rows:
        return _nothing_to_compare("no champion yet: nothing to score")
    decayed = [r["model"] for r in rows if r["drop"] > monitoring.max_r2_log_drop]
    return dg.AssetCheckResult(
        passed=not decayed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"decayed: {', '.join(decayed)}" if decayed else "champions hold their held-out score",
        metadata={
            "decayed": decayed,
            "max_r2_log_drop": monitoring.max_r2_log_drop,
            "scores": markdown_table(rows),
            "worst_drop": max(r["drop"] for r in rows),
        },
    )


# Jobs: what `make run`, the UI's launchpad and the schedule materialize.

ingest_job = dg.define_asset_job(
    name=names.INGEST_JOB,
    selection=dg.AssetSelection.assets(names.RAW_BUILDINGS, names.CLEANED_BUILDINGS, names.REJECTED_BUILDINGS),
    description="One data year: raw export -> harmonised -> cleaned and rejected, behind blocking checks.",
)

monitoring_job = dg.define_asset_job(
    name=names.MONITORING_JOB,
    selection=dg.AssetSelection.checks(cleaned_buildings_drift, champion_performance_on_year),
    description="One data year's drift and decay checks against the current champions, without re-ingesting it: "
    "run after training, so every year is compared with the champion trained on it and its neighbours.",
)

profile_job = dg.define_asset_job(
    name=names.PROFILE_JOB,
    selection=dg.AssetSelection.assets(names.BUILDINGS_PROFILE),
    description="EDA plots over every data year.",
)

training_job = dg.define_asset_job(
    name=names.TRAINING_JOB,
    selection=dg.AssetSelection.groups(names.MODELS_GROUP) - dg.AssetSelection.assets(names.FEATURE_ABLATION),
    tags=TRAINING_TAG,
    description="Pooled training data -> tuned candidates -> registered models and the champion gate, both targets.",
)

ablation_job = dg.define_asset_job(
    name=names.ABLATION_JOB,
    selection=dg.AssetSelection.assets(names.FEATURE_ABLATION),
    tags=TRAINING_TAG,
    description="What each feature group is worth, per target (analysis; not part of retraining).",
)

serving_job = dg.define_asset_job(
    name=names.SERVING_JOB,
    selection=dg.AssetSelection.groups(names.SERVING_GROUP),
    description="Bento of the current champions -> container image -> ECR (image and push skip without a builder "
    "or a registry).",
)


retraining_schedule = dg.ScheduleDefinition(
    name="weekly_retraining",
    job=training_job,
    cron_schedule=resolved("ENERGY_PIPELINE_RETRAIN_CRON"),
    execution_timezone="America/Los_Angeles",  # Seattle's clock
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_starts_running()
    else dg.DefaultScheduleStatus.STOPPED,
    description="Retrains both targets on all available years (cron: ENERGY_PIPELINE_RETRAIN_CRON). The gate "
    "decides; champion_changed_sensor rebuilds and pushes the Bento only when a champion moved.",
)


# Sensors


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=DEFAULT_STATUS,
    description="A new (or changed) `<YEAR>-*.csv` in the landing location adds the year's partition and "
    "ingests it; the cursor keeps each file's content digest, so re-dropping the same file does nothing.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    try:
        files = landing.listing()
    except LandingError as error:
        return dg.SensorResult(skip_reason=f"landing location is ambiguous: {error}")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    changed = {year: landed for year, landed in sorted(files.items()) if seen.get(year) != landed.digest}
    if not changed:
        return dg.SensorResult(skip_reason=f"no new or changed export in {landing.location}")
    known = set(context.instance.get_dynamic_partitions(DATA_YEARS_NAME))
    new_years = [year for year in changed if year not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=year,
                run_key=f"{year}:{landed.digest}",
                tags={"landing/file": landed.location, "landing/digest": landed.digest},
            )
            for year, landed in changed.items()
        ],
        dynamic_partitions_requests=[DATA_YEARS.build_add_request(new_years)] if new_years else [],
        cursor=json.dumps({**seen, **{year: landed.digest for year, landed in changed.items()}}, sort_keys=True),
    )


def champion_versions(instance: dg.DagsterInstance) -> str | None:
    """`e<version>-g<version>` of the champions after the latest model materializations (as the Bento tag)."""
    versions = []
    for asset in names.MODEL_ASSETS:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        materialization = event.asset_materialization if event else None
        champion = materialization.metadata.get(Meta.CHAMPION_VERSION) if materialization else None
        if champion is None or champion.value in (None, "none"):
            return None
        versions.append(str(champion.value))
    return f"e{versions[0]}-g{versions[1]}"


@dg.sensor(
    job=serving_job,
    minimum_interval_seconds=60,
    default_status=DEFAULT_STATUS,
    description="Rebuilds the Bento, its image and the ECR push only when a champion changed (the gate "
    "promoted a new version), never for a retraining that kept the champion.",
)
def champion_changed_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    current = champion_versions(context.instance)
    if current is None:
        return dg.SensorResult(skip_reason="no champion for both targets yet")
    if current == context.cursor:
        return dg.SensorResult(skip_reason=f"champions unchanged ({current})")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=current, tags={"champions": current})], cursor=current)


@dg.run_failure_sensor(
    default_status=DEFAULT_STATUS,
    monitor_all_code_locations=False,
    description="Records every failed run (artifacts/failures.jsonl) and posts it to the webhook if configured.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: FailureAlerts) -> None:
    run = context.dagster_run
    steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    alerts.send(
        {
            "run_id": run.run_id,
            "job": run.job_name,
            "partition": run.tags.get("dagster/partition"),
            "failed_steps": steps,
            "error": context.failure_event.message or "run failed",
        }
    )


# Declarative automation: a new year's ingest run (requested by the landing sensor) materializes raw -> cleaned
# behind blocking checks; once those passed, the profile and the whole training chain follow on their own (eager,
# `orchestration/automation.py`). Serving does not: a retraining that keeps the champion must not rebuild the
# image, so `champion_changed_sensor` drives it.
automation_sensor = dg.AutomationConditionSensorDefinition(
    name="retrain_on_new_data",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=60,
    run_tags=TRAINING_TAG,  # its runs may train: they queue behind any other training
    default_status=DEFAULT_STATUS,
    description="Evaluates the assets' automation conditions: profile and training follow a checked ingest.",
)


defs = dg.Definitions(
    asset_checks=[cleaned_buildings_drift, champion_performance_on_year],
    jobs=[ingest_job, profile_job, training_job, monitoring_job, ablation_job, serving_job],
    schedules=[retraining_schedule],
    sensors=[landing_files_sensor, champion_changed_sensor, run_failure_alert, automation_sensor],
)
