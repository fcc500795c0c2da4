"""Data assets: a year's raw export -> harmonised raw table -> cleaned population and rejected rows."""

import hashlib
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from energy_pipeline.domain.cleaning import clean_buildings
from energy_pipeline.domain.columns import REQUIRED_RAW_COLUMNS
from energy_pipeline.domain.harmonise import harmonise_export
from energy_pipeline.domain.ingest import IngestionError, read_benchmarking_csv
from energy_pipeline.domain.landing import LandingError
from energy_pipeline.domain.row_rules import MISSING_VALUE_RULES
from energy_pipeline.domain.validation import validate_raw
from energy_pipeline.orchestration.data_resources import DataQualityPolicy, LandingZone
from energy_pipeline.orchestration.metadata import frame_metadata, markdown_table
from energy_pipeline.orchestration.partitions import DATA_YEARS
from energy_pipeline.orchestration.retries import transient_errors_retried
from energy_pipeline.version import source_version

DATA_GROUP = "data"
LAYOUT_KEY = "layout"  # the export layout recognised from the header (`domain/layouts.py`)


def partition_year(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> int:
    return int(context.partition_key)


@dg.asset(
    code_version=source_version(__name__),
    partitions_def=DATA_YEARS,
    group_name=DATA_GROUP,
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
            LAYOUT_KEY: harmonised.layout,
            "extra_columns": extras,
            "exact_duplicates_collapsed": harmonised.exact_duplicates,
            **{f"zeros_as_missing/{column}": rows for column, rows in harmonised.zeros_as_missing.items()},
            **{f"unmapped_values/{column}": rows for column, rows in harmonised.unmapped.items()},
        },
        # the export's bytes: the same file again gives the same version, and nothing downstream goes stale
        data_version=dg.DataVersion(hashlib.sha256(content).hexdigest()[:16]),
    )


@dg.multi_asset(
    partitions_def=DATA_YEARS,
    group_name=DATA_GROUP,
    outs={
        "cleaned_buildings": dg.AssetOut(
            code_version=source_version(__name__),
            kinds={"pandas"},
            description="The modelling population: non-residential buildings with valid targets and trusted "
            "flags; metered columns removed. Missing values follow the rule per column in its metadata.",
        ),
        "rejected_buildings": dg.AssetOut(
            code_version=source_version(__name__),
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
        output_name="cleaned_buildings",
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
        output_name="rejected_buildings",
        metadata={
            **frame_metadata(result.rejected),
            "rejected_per_reason": markdown_table(
                [{"reason": reason, "rows": rows} for reason, rows in counts.items()]
            ),
            **{f"rejected/{reason}": rows for reason, rows in counts.items()},
        },
    )
