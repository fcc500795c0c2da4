"""Turning domain results into Dagster metadata that reads well in the UI."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.data.validation import ValidationReport


def markdown_table(records: Sequence[Mapping[str, object]]) -> dg.MetadataValue:
    if not records:
        return dg.MetadataValue.md("_none_")
    return dg.MetadataValue.md(pd.DataFrame(list(records)).to_markdown(index=False))


def embedded_images(images: Mapping[str, Path]) -> dg.MetadataValue:
    """PNG files inlined as Markdown, so the plots show in the asset's page without a file server."""
    parts = []
    for title, path in images.items():
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f"### {title}\n![{title}](data:image/png;base64,{encoded})")
    return dg.MetadataValue.md("\n\n".join(parts))


def table_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=str(name), type=str(dtype)) for name, dtype in frame.dtypes.items()]
    )


def frame_metadata(frame: pd.DataFrame) -> dict[str, Any]:
    return {"dagster/row_count": len(frame), "dagster/column_schema": table_schema(frame)}


def validation_check_result(report: ValidationReport) -> dg.AssetCheckResult:
    """A failed schema rule becomes a failed blocking check naming the columns, rules and sample rows."""
    blocking = report.blocking_violations
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.describe(),
        metadata={
            "rows": report.n_rows,
            "blocking_rules": len(blocking),
            "tolerated_rules": len(report.violations) - len(blocking),
            "failing_columns": sorted({v.column for v in blocking}),
            "failures": markdown_table(report.as_records()),
            "max_invalid_row_share": report.max_invalid_row_share,
        },
    )
