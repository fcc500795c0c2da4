"""The data stage in Dagster: a year's raw export -> harmonised raw table -> cleaned population and rejected rows,
behind blocking data-quality checks, and the profile of every year. The only module of `data/` that imports
Dagster; the work itself is the plain modules beside it."""

import hashlib
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from energy_pipeline.core import names
from energy_pipeline.core.columns import DATA_YEAR, REQUIRED_RAW_COLUMNS
from energy_pipeline.core.names import Meta
from energy_pipeline.core.version import source_version
from energy_pipeline.data.cleaning import clean_buildings, cleaned_share
from energy_pipeline.data.harmonise import harmonise_export
from energy_pipeline.data.ingest import IngestionError, read_benchmarking_csv
from energy_pipeline.data.landing import LandingError
from energy_pipeline.data.profile import render_profile
from energy_pipeline.data.row_rules import MISSING_VALUE_RULES
from energy_pipeline.data.validation import validate_cleaned, validate_raw
from energy_pipeline.orchestration.automation import AFTER_CHECKED_UPSTREAM
from energy_pipeline.orchestration.data_resources import ArtifactStore, DataQualityPolicy, LandingZone
from energy_pipeline.orchestration.metadata import (
    embedded_images,
    frame_metadata,
    markdown_table,
    validation_check_result,
)
from energy_pipeline.orchestration.partitioned_inputs import YearFrames, all_years, year_frame_ins
from energy_pipeline.orchestration.partitions import DATA_YEARS
from energy_pipeline.orchestration.retries import transient_errors_retried

CODE_VERSION = source_version(__name__)


def partition_year(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> int:
    return int(context.partition_key)


@dg.asset(
    name=names.RAW_BUILDINGS,
    code_version=CODE_VERSION,
    partitions_def=DATA_YEARS,
    group_name=names.DATA_GROUP,
    kinds={"pandas", "csv"},
    description="One year's benchmarking export harmonised to the canonical snake_case schema "
    "(2015's Location unpacked, category spellings unified, unknown extra columns kept).",
)
def raw_buildings(context: dg.AssetExecutionContext, landing: LandingZone) -> dg.Output[pd.DataFrame]:
    try:
        with transient_errors_retried(context):  # S3 hiccups; a bad file is not retried
            source, content = landing.read_year(context.partition_key)
        harmonised = harmonise_export(read_benchmarking_csv(content, name=source))
    except (IngestionError, LandingError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    frame = harmonised.frame
    extras = [c for c in frame.columns if c not in REQUIRED_RAW_COLUMNS]
    return dg.Output(
        frame,
        metadata={
            **frame_metadata(frame),
            "source_file": source,
            Meta.LAYOUT: harmonised.layout,  # the export layout recognised from the header (`layouts.py`)
            "extra_columns": extras,
            Meta.EXACT_DUPLICATES_COLLAPSED: harmonised.exact_duplicates,
            **{f"zeros_as_missing/{column}": rows for column, rows in harmonised.zeros_as_missing.items()},
            **{f"unmapped_values/{column}": rows for column, rows in harmonised.unmapped.items()},
        },
        # the export's bytes: the same file again gives the same version, and nothing downstream goes stale
        data_version=dg.DataVersion(hashlib.sha256(content).hexdigest()[:16]),
    )


@dg.multi_asset(
    partitions_def=DATA_YEARS,
    group_name=names.DATA_GROUP,
    outs={
        names.CLEANED_BUILDINGS: dg.AssetOut(
            code_version=CODE_VERSION,
            kinds={"pandas"},
            description="The modelling population: non-residential buildings with valid targets and trusted "
            "flags; metered columns removed. Missing values follow the rule per column in its metadata.",
        ),
        names.REJECTED_BUILDINGS: dg.AssetOut(
            code_version=CODE_VERSION,
            kinds={"pandas"},
            description="Every raw row left out of cleaned_buildings, with its year, building id and reason.",
        ),
    },
)
def cleaned_and_rejected_buildings(
    context: dg.AssetExecutionContext, raw_buildings: pd.DataFrame, quality: DataQualityPolicy
) -> Iterator[dg.Output[pd.DataFrame]]:
    report = validate_raw(raw_buildings, partition_year(context), quality.max_invalid_row_share)
    result = clean_buildings(raw_buildings, report.invalid_rows)
    counts = result.reason_counts()
    yield dg.Output(
        result.cleaned,
        output_name=names.CLEANED_BUILDINGS,
        metadata={
            **frame_metadata(result.cleaned),
            "raw_rows": len(raw_buildings),
            "missing_value_rules": markdown_table(
                [{"column": column, "rule": rule} for column, rule in MISSING_VALUE_RULES.items()]
            ),
        },
    )
    yield dg.Output(
        result.rejected,
        output_name=names.REJECTED_BUILDINGS,
        metadata={
            **frame_metadata(result.rejected),
            "rejected_per_reason": markdown_table(
                [{"reason": reason, "rows": rows} for reason, rows in counts.items()]
            ),
            **{f"rejected/{reason}": rows for reason, rows in counts.items()},
        },
    )


@dg.asset(
    name=names.BUILDINGS_PROFILE,
    code_version=CODE_VERSION,
    group_name=names.DATA_GROUP,
    ins=year_frame_ins(names.RAW_BUILDINGS, names.CLEANED_BUILDINGS, names.REJECTED_BUILDINGS),
    kinds={"matplotlib"},
    automation_condition=AFTER_CHECKED_UPSTREAM,
    description="Target distributions (raw and log), missing values per column, outliers and targets by "
    "property type, across every materialized data year.",
)
def buildings_profile(
    raw_buildings: YearFrames,
    cleaned_buildings: YearFrames,
    rejected_buildings: YearFrames,
    artifacts: ArtifactStore,
) -> dg.MaterializeResult:
    cleaned = all_years(cleaned_buildings)
    images = render_profile(
        all_years(raw_buildings), cleaned, all_years(rejected_buildings), artifacts.folder("profile")
    )
    return dg.MaterializeResult(
        metadata={
            "plots": embedded_images(images),
            "files": [str(path) for path in images.values()],
            "data_years": sorted(str(year) for year in cleaned[DATA_YEAR].unique()),
        }
    )


# Blocking data-quality gates: a failing check stops every downstream asset in the same run, and training refuses
# a year whose current data has not passed the cleaned year's gates (`orchestration/check_gates.py`).


@dg.asset_check(
    asset=names.RAW_BUILDINGS,
    name=names.RAW_BUILDINGS_SCHEMA,
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
    asset=names.CLEANED_BUILDINGS,
    name=names.CLEANED_BUILDINGS_SCHEMA,
    blocking=True,
    partitions_def=DATA_YEARS,
    description="CleanedBuildingsSchema (pandera, lazy): every rule of the raw schema with no tolerance, "
    "targets > 0, no residential rows, no metered columns.",
)
def cleaned_buildings_schema(cleaned_buildings: pd.DataFrame) -> dg.AssetCheckResult:
    return validation_check_result(validate_cleaned(cleaned_buildings))


@dg.asset_check(
    asset=names.CLEANED_BUILDINGS,
    name=names.CLEANED_ROW_SHARE,
    blocking=True,
    partitions_def=DATA_YEARS,
    additional_ins={names.RAW_BUILDINGS: dg.AssetIn()},
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
    asset=names.CLEANED_BUILDINGS,
    name=names.ROWS_ACCOUNTED_FOR,
    blocking=True,
    partitions_def=DATA_YEARS,
    additional_ins={names.RAW_BUILDINGS: dg.AssetIn(), names.REJECTED_BUILDINGS: dg.AssetIn()},
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


defs = dg.Definitions(
    assets=[raw_buildings, cleaned_and_rejected_buildings, buildings_profile],
    asset_checks=[raw_buildings_schema, cleaned_buildings_schema, cleaned_row_share, rows_accounted_for],
)
