"""Monitoring checks on each year's cleaned data (WARN, never blocking): drift from the champion's training
inputs, and the champion's score on the year once its targets are known. They tell the team retraining is due."""

from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.domain.columns import TARGET_SPECS
from energy_pipeline.domain.monitoring import feature_drift, performance_decay
from energy_pipeline.orchestration.metadata import markdown_table
from energy_pipeline.orchestration.partitions import DATA_YEARS
from energy_pipeline.orchestration.training_resources import MlflowTracking, MonitoringPolicy
from energy_pipeline.tracking import load_model

# Below this many buildings a year's PSI or R² says nothing; the blocking row-share check deals with such a year.
MIN_ROWS_TO_MONITOR = 30


def _nothing_to_compare(why: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, description=why, metadata={"reference": why})


def _too_few_rows(frame: pd.DataFrame) -> dg.AssetCheckResult | None:
    if len(frame) >= MIN_ROWS_TO_MONITOR:
        return None
    return _nothing_to_compare(f"only {len(frame)} cleaned buildings (< {MIN_ROWS_TO_MONITOR}): nothing to measure")


@dg.asset_check(
    asset="cleaned_buildings",
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
    if champion is None or "drift_reference" not in champion[1]:
        return _nothing_to_compare("no champion yet: nothing to compare with")
    version, metadata = champion
    rows = feature_drift(metadata["drift_reference"], cleaned_buildings, monitoring.psi_threshold)
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
    asset="cleaned_buildings",
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
            float(metadata["holdout_metrics"]["r2_log"]),
            seen=context.partition_key in metadata.get("data_years", []),
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
