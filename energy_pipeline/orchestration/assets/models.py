"""Modelling assets: pooled training data, then per target the tuned candidates and the registered model."""

from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.domain.columns import TARGET_SPECS, TargetSpec
from energy_pipeline.domain.forward import MIN_HISTORY_YEARS, POPULATIONS, ForwardEvaluation
from energy_pipeline.modelling import (
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
from energy_pipeline.orchestration.automation import AFTER_CHECKED_UPSTREAM
from energy_pipeline.orchestration.check_gates import CLEANED_BLOCKING_CHECKS, unpassed_blocking_checks
from energy_pipeline.orchestration.concurrency import TRAINING_POOL
from energy_pipeline.orchestration.data_resources import ArtifactStore
from energy_pipeline.orchestration.metadata import embedded_images, frame_metadata, markdown_table
from energy_pipeline.orchestration.partitioned_inputs import YearFrames, all_years, year_frame_ins
from energy_pipeline.orchestration.retries import transient_errors_retried
from energy_pipeline.orchestration.training_resources import (
    ChampionGatePolicy,
    MlflowTracking,
    TrainingPolicy,
)
from energy_pipeline.version import code_version, source_version

MODELS_GROUP = "models"


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
    code_version=source_version(__name__),
    group_name=MODELS_GROUP,
    pool=TRAINING_POOL,
    kinds={"pandas"},
    ins=year_frame_ins("cleaned_buildings"),
    automation_condition=AFTER_CHECKED_UPSTREAM,
    description="Every data year's cleaned buildings, reduced to the model inputs (known before metering), the "
    "targets, building ids and the fixed held-out flag (20% of buildings, grouped, seed 42).",
)
def training_data(context: dg.AssetExecutionContext, cleaned_buildings: YearFrames) -> dg.Output[pd.DataFrame]:
    years = sorted(context.asset_partition_keys_for_input("cleaned_buildings"))
    failed = unpassed_blocking_checks(context.instance, "cleaned_buildings", CLEANED_BLOCKING_CHECKS, years)
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
            "buildings": int(frame["ose_building_id"].nunique()),
            "digest": data_digest(frame),
        },
    )


def _candidates_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=source_version(__name__),
        name=f"{target.key}_candidates",
        group_name=MODELS_GROUP,
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
                "candidates": markdown_table(result.table()),
                "winner": result.choice.winner,
                "selection": result.choice.reason,
                "mlflow_run_id": result.parent_run_id,
                "failed": [r.name for r in result.results if not r.ok],
            },
        )

    return candidates


def _model_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=source_version(__name__),
        name=f"{target.key}_model",
        group_name=MODELS_GROUP,
        pool=TRAINING_POOL,
        kinds={"mlflow"},
        automation_condition=AFTER_CHECKED_UPSTREAM,
        ins={
            "candidates": dg.AssetIn(f"{target.key}_candidates"),
            "forward_evaluation": dg.AssetIn(f"{target.key}_forward_evaluation"),
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
        "winner": outcome.winner,
        "registered_model": outcome.version.name,
        "registered_version": outcome.version.version,
        "decision": "promoted" if outcome.decision.promote else "not promoted",
        "reason": outcome.decision.reason,
        "champion_version": outcome.champion_after or "none",
        "holdout_scores": markdown_table(
            [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
        ),
        "cv_r2_log": round(outcome.cv["r2_log_mean"], 4),
        "runner_up": outcome.runner_up or "none",
        "lead_over_runner_up_r2_log": round(outcome.lead_r2_log or 0.0, 4),
        "holdout_r2_log": round(outcome.holdout.metrics["r2_log"], 4),
        "holdout_median_ape": round(outcome.holdout.metrics["median_ape"], 4),
        "interval_log_halfwidth_80_pooled": round(outcome.holdout.intervals.pooled, 4),
        "interval_novelty_scale": round(outcome.holdout.intervals.novelty_scale, 4),
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
        metadata["protocol_2016_r2_log"] = round(outcome.protocol_2016["r2_log_mean"], 4)
        metadata["protocol_2016_median_ape"] = round(outcome.protocol_2016["median_ape_mean"], 4)
    return metadata


def _forward_asset(target: TargetSpec) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=source_version(__name__),
        name=f"{target.key}_forward_evaluation",
        group_name=MODELS_GROUP,
        pool=TRAINING_POOL,
        kinds={"sklearn", "mlflow"},
        automation_condition=AFTER_CHECKED_UPSTREAM,
        ins={"candidates": dg.AssetIn(f"{target.key}_candidates"), "training_data": dg.AssetIn()},
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
        "configuration": candidates.winner.name,
        "forward": markdown_table(_rounded(evaluation.rows)),
        "interval_novelty_scale": round(evaluation.novelty_scale, 4),
        "mlflow_run_id": candidates.parent_run_id,
    }
    for population in POPULATIONS:
        pooled = evaluation.pooled(population)
        if pooled is None:
            metadata["scored_years"] = f"none: no year has {MIN_HISTORY_YEARS} earlier years to be fitted on"
            return metadata
        metadata[f"{population}_buildings"] = int(pooled["rows"])  # type: ignore[call-overload]
        for metric in ("r2_log", "median_ape", "coverage"):
            metadata[f"pooled_{population}_{metric}"] = round(float(pooled[metric]), 4)  # type: ignore[arg-type]
    metadata["by_candidate"] = markdown_table(_rounded(report.by_candidate))
    metadata["plot"] = embedded_images({"Forward evaluation": report.figure})
    return metadata


TARGET_ASSETS: list[dg.AssetsDefinition] = [
    factory(target) for target in TARGET_SPECS for factory in (_candidates_asset, _model_asset, _forward_asset)
]
