"""Blocking data-quality gates: a failing check stops every downstream asset in the same run."""

import dagster as dg
import pandas as pd

from energy_pipeline.domain.cleaning import cleaned_share
from energy_pipeline.domain.validation import validate_cleaned, validate_raw
from energy_pipeline.orchestration.assets.buildings import partition_year
from energy_pipeline.orchestration.data_resources import DataQualityPolicy
from energy_pipeline.orchestration.metadata import validation_check_result
from energy_pipeline.orchestration.partitions import DATA_YEARS


@dg.asset_check(
    asset="raw_buildings",
    blocking=True,
    partitions_def=DATA_YEARS,
    description="RawBuildingsSchema (pandera, lazy): types, required columns, ranges, unique ids, the file's "
    "year. Blocks on any structural failure, or when one value rule fails on more than the tolerated share.",
)
def raw_buildings_schema(
    context: dg.AssetCheckExecutionContext, raw_buildings: pd.DataFrame, quality: DataQualityPolicy
) -> dg.AssetCheckResult:
    return validation_check_result(validate_raw(raw_buildings, partition_year(context), quality.max_invalid_row_share))


@dg.asset_check(
    asset="cleaned_buildings",
    blocking=True,
    partitions_def=DATA_YEARS,
    description="CleanedBuildingsSchema (pandera, lazy): every rule of the raw schema with no tolerance, "
    "targets > 0, no residential rows, no metered columns.",
)
def cleaned_buildings_schema(cleaned_buildings: pd.DataFrame) -> dg.AssetCheckResult:
    return validation_check_result(validate_cleaned(cleaned_buildings))


@dg.asset_check(
    asset="cleaned_buildings",
    blocking=True,
    partitions_def=DATA_YEARS,
    additional_ins={"raw_buildings": dg.AssetIn()},
    description="The cleaned share of a year's raw rows stays in the configured band: a collapse means a "
    "broken file, not fewer buildings.",
)
def cleaned_row_share(
    cleaned_buildings: pd.DataFrame, raw_buildings: pd.DataFrame, quality: DataQualityPolicy
) -> dg.AssetCheckResult:
    share = cleaned_share(len(raw_buildings), len(cleaned_buildings))
    passed = quality.min_cleaned_share <= share <= quality.max_cleaned_share
    return dg.AssetCheckResult(
        passed=passed,
        description=f"{len(cleaned_buildings)} of {len(raw_buildings)} raw rows kept ({share:.1%}); "
        f"allowed {quality.min_cleaned_share:.0%}..{quality.max_cleaned_share:.0%}",
        metadata={"share": share, "raw_rows": len(raw_buildings), "cleaned_rows": len(cleaned_buildings)},
    )


@dg.asset_check(
    asset="cleaned_buildings",
    blocking=True,
    partitions_def=DATA_YEARS,
    additional_ins={"raw_buildings": dg.AssetIn(), "rejected_buildings": dg.AssetIn()},
    description="Nothing is dropped silently: every raw row is either cleaned or rejected with a reason.",
)
def rows_accounted_for(
    cleaned_buildings: pd.DataFrame, raw_buildings: pd.DataFrame, rejected_buildings: pd.DataFrame
) -> dg.AssetCheckResult:
    missing = len(raw_buildings) - len(cleaned_buildings) - len(rejected_buildings)
    return dg.AssetCheckResult(
        passed=missing == 0,
        description=f"raw {len(raw_buildings)} = cleaned {len(cleaned_buildings)} + rejected "
        f"{len(rejected_buildings)}" + ("" if missing == 0 else f" (off by {missing})"),
        metadata={"unaccounted_rows": missing},
    )
