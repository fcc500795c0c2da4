"""The model stage in Dagster: pooled training data, then per target the tuned candidates, their forward
evaluation and the registered model behind the champion gate; the feature ablation beside them. The only module of
`models/` that imports Dagster; the work itself is the plain modules beside it (`modelling.py` first)."""

from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.core import names
from energy_pipeline.core.columns import BUILDING_ID, TARGET_SPECS, TargetSpec
from energy_pipeline.core.names import Meta
from energy_pipeline.core.version import code_version, source_version
from energy_pipeline.models.ablation import ABLATION_MODEL, ablation_table
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.forward import FORWARD_METRICS, MIN_HISTORY_YEARS, POPULATIONS, ForwardEvaluation
from energy_pipeline.models.modelling import (
    HOLDOUT,
    CandidateSet,
    ForwardReport,
    SearchSettings,
    SelectionOutcome,
    data_digest,
    data_years,
    evaluate_and_log_forward,
    search_candidates,
    select_and_register,
    training_frame,
)
from energy_pipeline.models.protocol import Protocol, log_target
from energy_pipeline.orchestration.automation import AFTER_CHECKED_UPSTREAM
from energy_pipeline.orchestration.check_gates import unpassed_blocking_checks
from energy_pipeline.orchestration.concurrency import TRAINING_POOL
from energy_pipeline.orchestration.data_resources import ArtifactStore
from energy_pipeline.orchestration.metadata import embedded_images, frame_metadata, markdown_table
from energy_pipeline.orchestration.partitioned_inputs import YearFrames, all_years, year_frame_ins
from energy_pipeline.orchestration.retries import transient_errors_retried
from energy_pipeline.orchestration.training_resources import ChampionGatePolicy, MlflowTracking, TrainingPolicy

CODE_VERSION = source_version(__name__)


def search_settings(training: TrainingPolicy) -> SearchSettings:
    return SearchSettings(
        candidates=training.candidates,
        grid_size=training.grid_size,
        n_jobs=training.n_jobs,
        protocol=training.protocol(),
        report_2016_protocol=training.report_2016_protocol,
        max_model_mb=training.max_model_mb,
    )


def run_tags(context: dg.AssetExecutionContext) -> dict[str, str]:
    return {"dagster_run_id": context.run.run_id, "code_version": code_version()}


@dg.asset(
    name=names.TRAINING_DATA,
    code_version=CODE_VERSION,
    group_name=names.MODELS_GROUP,
    pool=TRAINING_POOL,
    kinds={"pandas"},
    ins=year_frame_ins(names.CLEANED_BUILDINGS),
    automation_condition=AFTER_CHECKED_UPSTREAM,
    description="Every data year's cleaned buildings, reduced to the model inputs (known before metering), the "
    "targets, building ids and the fixed held-out flag (20% of buildings, grouped, seed 42).",
)
def training_data(context: dg.AssetExecutionContext, cleaned_buildings: YearFrames) -> dg.Output[pd.DataFrame]:
    years = sorted(context.asset_partition_keys_for_input(names.CLEANED_BUILDINGS))
    failed = unpassed_blocking_checks(context.instance, names.CLEANED_BUILDINGS, names.CLEANED_BLOCKING_CHECKS, years)
    if failed:
        raise dg.Failure(
            description=f"blocking data-quality checks have not passed on the current data of {'; '.join(failed)}: "
            "fix and re-ingest those years before training (the champion is untouched)",
            allow_retries=False,
        )
    frame = training_frame(all_years(cleaned_buildings))
    return dg.Output(
        frame,
        metadata={
            **frame_metadata(frame),
            "data_years": data_years(frame),
            "holdout_rows": int(frame[HOLDOUT].sum()),
            "buildings": int(frame[BUILDING_ID].nunique()),
            Meta.DIGEST: data_digest(frame),
        },
    )


def _candidates_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=CODE_VERSION,
        name=names.candidates_asset(target.key),
        group_name=names.MODELS_GROUP,
        pool=TRAINING_POOL,
        kinds={"sklearn", "mlflow"},
        automation_condition=AFTER_CHECKED_UPSTREAM,
        description=f"Every candidate for {target.label}, grid-searched on the protocol's grouped splits; "
        "one MLflow parent run with a nested run per candidate.",
    )
    def candidates(
        context: dg.AssetExecutionContext,
        training_data: pd.DataFrame,
        training: TrainingPolicy,
        mlflow: MlflowTracking,
    ) -> dg.Output[CandidateSet]:
        with transient_errors_retried(context):
            result = search_candidates(
                training_data, target, search_settings(training), mlflow.tracker(), run_tags(context), context.log
            )
        return dg.Output(
            result,
            metadata={
                Meta.CANDIDATES: markdown_table(result.table()),
                Meta.WINNER: result.choice.winner,
                Meta.SELECTION: result.choice.reason,
                "mlflow_run_id": result.parent_run_id,
                "failed": [r.name for r in result.results if not r.ok],
            },
        )

    return candidates


def _model_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=CODE_VERSION,
        name=names.model_asset(target.key),
        group_name=names.MODELS_GROUP,
        pool=TRAINING_POOL,
        kinds={"mlflow"},
        automation_condition=AFTER_CHECKED_UPSTREAM,
        ins={
            "candidates": dg.AssetIn(names.candidates_asset(target.key)),
            "forward_evaluation": dg.AssetIn(names.forward_evaluation_asset(target.key)),
            "training_data": dg.AssetIn(),
        },
        description=f"The winning {target.label} model, registered as a new version, with 80% intervals per property "
        "type scaled for new buildings by the forward evaluation; the `champion` alias moves to it only when the "
        "gate passes on the held-out buildings.",
    )
    def model(
        context: dg.AssetExecutionContext,
        candidates: CandidateSet,
        forward_evaluation: ForwardEvaluation,
        training_data: pd.DataFrame,
        training: TrainingPolicy,
        mlflow: MlflowTracking,
        gate: ChampionGatePolicy,
        artifacts: ArtifactStore,
    ) -> dg.Output[SelectionOutcome]:
        with transient_errors_retried(context):
            outcome = select_and_register(
                candidates,
                training_data,
                forward_evaluation.novelty_scale,
                search_settings(training),
                mlflow.tracker(),
                mlflow.model_name(target.key),
                gate.floors(target.key),
                gate.margin,
                code_version(),
                artifacts.folder("models", target.key),
            )
        return dg.Output(outcome, metadata=outcome_metadata(outcome))

    return model


def outcome_metadata(outcome: SelectionOutcome) -> dict[str, Any]:
    rows = [{"model": f"candidate v{outcome.version.version} ({outcome.winner})", **outcome.decision.candidate}]
    if outcome.champion_holdout is not None:
        rows.append({"model": f"champion v{outcome.champion_before}", **outcome.champion_holdout})
    metadata: dict[str, Any] = {
        Meta.WINNER: outcome.winner,
        Meta.REGISTERED_MODEL: outcome.version.name,
        Meta.REGISTERED_VERSION: outcome.version.version,
        Meta.DECISION: "promoted" if outcome.decision.promote else "not promoted",
        Meta.REASON: outcome.decision.reason,
        Meta.CHAMPION_VERSION: outcome.champion_after or "none",
        "holdout_scores": markdown_table(
            [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
        ),
        Meta.CV_R2_LOG: round(outcome.cv["r2_log_mean"], 4),
        Meta.RUNNER_UP: outcome.runner_up or "none",
        Meta.LEAD_OVER_RUNNER_UP: round(outcome.lead_r2_log or 0.0, 4),
        Meta.HOLDOUT_R2_LOG: round(outcome.holdout.metrics["r2_log"], 4),
        Meta.HOLDOUT_MEDIAN_APE: round(outcome.holdout.metrics["median_ape"], 4),
        "interval_log_halfwidth_80_pooled": round(outcome.holdout.intervals.pooled, 4),
        Meta.INTERVAL_NOVELTY_SCALE: round(outcome.holdout.intervals.novelty_scale, 4),
        "interval_log_halfwidth_80_by_type": markdown_table(
            [
                {"primary_property_type": k, "log_halfwidth": round(v, 4)}
                for k, v in outcome.holdout.intervals.by_group.items()
            ]
        ),
        "mlflow_run_id": outcome.version.run_id,
        "diagnostics": embedded_images(outcome.figures),
    }
    if outcome.protocol_2016:
        metadata[Meta.PROTOCOL_2016_R2_LOG] = round(outcome.protocol_2016["r2_log_mean"], 4)
        metadata[Meta.PROTOCOL_2016_MEDIAN_APE] = round(outcome.protocol_2016["median_ape_mean"], 4)
    return metadata


def _forward_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=CODE_VERSION,
        name=names.forward_evaluation_asset(target.key),
        group_name=names.MODELS_GROUP,
        pool=TRAINING_POOL,
        kinds={"sklearn", "mlflow"},
        automation_condition=AFTER_CHECKED_UPSTREAM,
        ins={"candidates": dg.AssetIn(names.candidates_asset(target.key)), "training_data": dg.AssetIn()},
        description=f"The chosen {target.label} configuration judged forward in time: for each year, fitted on "
        "the years before it and scored on that year's buildings, all of them and those never seen before, with "
        "the intervals calibrated the registered model's way. Logged to the candidates' MLflow run.",
    )
    def forward_evaluation(
        context: dg.AssetExecutionContext,
        candidates: CandidateSet,
        training_data: pd.DataFrame,
        training: TrainingPolicy,
        mlflow: MlflowTracking,
        artifacts: ArtifactStore,
    ) -> dg.Output[ForwardEvaluation]:
        with transient_errors_retried(context):
            report = evaluate_and_log_forward(
                candidates, training_data, mlflow.tracker(), training.n_jobs, artifacts.folder("forward", target.key)
            )
        return dg.Output(report.evaluation, metadata=forward_metadata(report, candidates))

    return forward_evaluation


def _rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def forward_metadata(report: ForwardReport, candidates: CandidateSet) -> dict[str, Any]:
    evaluation = report.evaluation
    metadata: dict[str, Any] = {
        Meta.CONFIGURATION: candidates.winner.name,
        "forward": markdown_table(_rounded(evaluation.rows)),
        Meta.INTERVAL_NOVELTY_SCALE: round(evaluation.novelty_scale, 4),
        "mlflow_run_id": candidates.parent_run_id,
    }
    for population in POPULATIONS:
        pooled = evaluation.pooled(population)
        if pooled is None:
            metadata[Meta.SCORED_YEARS] = f"none: no year has {MIN_HISTORY_YEARS} earlier years to be fitted on"
            return metadata
        metadata[Meta.buildings(population)] = int(pooled["rows"])  # type: ignore[call-overload]
        for metric in FORWARD_METRICS:
            metadata[Meta.pooled(population, metric)] = round(float(pooled[metric]), 4)  # type: ignore[arg-type]
    metadata["by_candidate"] = markdown_table(_rounded(report.by_candidate))
    metadata["plot"] = embedded_images({"Forward evaluation": report.figure})
    return metadata


TARGET_ASSETS: list[dg.AssetsDefinition] = [
    factory(target) for target in TARGET_SPECS for factory in (_candidates_asset, _model_asset, _forward_asset)
]


# The feature-group ablation, shown as a table on the asset's page.


@dg.asset(
    name=names.FEATURE_ABLATION,
    code_version=CODE_VERSION,
    group_name=names.MODELS_GROUP,
    pool=TRAINING_POOL,  # it fits models too: one training at a time
    kinds={"sklearn"},
    description=f"Each feature group's effect on the CV R² (log) of a fixed {ABLATION_MODEL} model, per target "
    "(first seed's grouped folds of the training rows); the optional ENERGY STAR score is measured on top.",
)
def feature_ablation(training_data: pd.DataFrame, training: TrainingPolicy) -> dg.MaterializeResult:
    train = training_data[~training_data[HOLDOUT]]
    splits = Protocol(folds=training.cv_folds, seeds=tuple(training.cv_seeds[:1])).splits(train[BUILDING_ID])
    metadata: dict[str, Any] = {}
    for target in TARGET_SPECS:
        table = ablation_table(train[list(MODEL_INPUTS)], log_target(train, target.column), splits, training.n_jobs)
        metadata[target.key] = markdown_table(table.round(4).to_dict("records"))
    return dg.MaterializeResult(metadata=metadata)


# The champion gate, visible in Dagster: both models' held-out scores and the decision.


def _gate_check(target: TargetSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=names.model_asset(target.key),
        name=names.champion_gate_check(target.key),
        description="Passes when the new version became champion; warns when the gate kept the old champion "
        "(or found none fit to serve), with both models' held-out scores.",
    )
    def gate_check(model: SelectionOutcome) -> dg.AssetCheckResult:
        metadata = {k: v for k, v in outcome_metadata(model).items() if k != "diagnostics"}
        return dg.AssetCheckResult(
            passed=model.decision.promote,
            severity=dg.AssetCheckSeverity.WARN,
            description=model.decision.reason,
            metadata=metadata,
        )

    return gate_check


CHAMPION_GATE_CHECKS = [_gate_check(target) for target in TARGET_SPECS]


defs = dg.Definitions(
    assets=[training_data, *TARGET_ASSETS, feature_ablation],
    asset_checks=CHAMPION_GATE_CHECKS,
)
