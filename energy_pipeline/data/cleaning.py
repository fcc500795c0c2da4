"""From the harmonised export to the modelling population, keeping every removed row with its reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, METERED_COLUMNS, TARGETS
from energy_pipeline.data.harmonise import HARMONISATION_ISSUE
from energy_pipeline.data.row_rules import fill_missing

REJECTION_REASON = "rejection_reason"
# What the model cannot do without (after the missing-value rules): a row lacking one is rejected, naming it.
REQUIRED_INPUTS: tuple[str, ...] = ("primary_property_type", "year_built", "property_gfa_total")


@dataclass(frozen=True)
class CleaningResult:
    cleaned: pd.DataFrame
    rejected: pd.DataFrame

    def reason_counts(self) -> dict[str, int]:
        counts = self.rejected[REJECTION_REASON].value_counts()
        return {str(reason): int(count) for reason, count in counts.items()}


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").str.lower()


Rule = tuple[Callable[[pd.DataFrame], pd.Series], Callable[[pd.DataFrame], pd.Series]]


def _column_rule(column: str, reason: str, fails: Callable[[pd.Series], pd.Series]) -> Rule:
    """A rule on one column: the rows where `fails` holds, rejected as `<reason>:<column>`."""
    return (
        lambda frame: fails(frame[column]),
        lambda frame: pd.Series(f"{reason}:{column}", index=frame.index),
    )


def _rejection_rules(invalid: pd.Series) -> list[Rule]:
    """(which rows, why) in priority order: a row is rejected for the first rule it breaks."""
    rules: list[Rule] = [
        (
            lambda f: _text(f, "building_type").str.startswith("multifamily").fillna(False),
            lambda f: pd.Series("residential:building_type", index=f.index),
        ),
        (
            lambda f: _text(f, "primary_property_type").str.contains("multifamily").fillna(False),
            lambda f: pd.Series("residential:primary_property_type", index=f.index),
        ),
        (
            lambda f: f[HARMONISATION_ISSUE].notna() if HARMONISATION_ISSUE in f else pd.Series(False, index=f.index),
            lambda f: "unmapped:" + f[HARMONISATION_ISSUE].str.split(":").str[0],
        ),
        (lambda f: invalid.reindex(f.index).notna(), lambda f: invalid.reindex(f.index)),
    ]
    rules += [_column_rule(column, "missing_input", lambda values: values.isna()) for column in REQUIRED_INPUTS]
    for target in TARGETS:
        rules.append(_column_rule(target, "missing_target", lambda values: values.isna()))
        rules.append(_column_rule(target, "non_positive_target", lambda values: values <= 0))
    rules += [
        (
            lambda f: f["compliance_status"].fillna("missing") != "Compliant",
            lambda f: "compliance_status:" + f["compliance_status"].fillna("missing").astype("string"),
        ),
        (
            lambda f: f["outlier"].notna(),
            lambda f: "flagged_outlier:" + f["outlier"].astype("string"),
        ),
        (
            lambda f: f["default_data"].fillna(False).astype(bool),
            lambda f: pd.Series("default_data_used", index=f.index),
        ),
    ]
    return rules


def clean_buildings(raw: pd.DataFrame, invalid_rows: Mapping[int, str]) -> CleaningResult:
    """`invalid_rows`: the raw schema's tolerated row failures (frame index -> rule); rejected too. The rules see
    each row after the missing-value rules (so 2020's rows get their ENERGY STAR type before the residential rule);
    the rejected table keeps the rows as the file gave them."""
    filled = fill_missing_values(raw)
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")
    invalid = pd.Series(dict(invalid_rows), dtype="string").reindex(raw.index)
    for selects, explains in _rejection_rules(invalid):
        hit = selects(filled).fillna(False).astype(bool) & reasons.isna()
        if hit.any():
            reasons[hit] = explains(filled.loc[hit]).astype("string")
    rejected = raw.loc[reasons.notna()].copy()
    rejected.insert(0, REJECTION_REASON, reasons[reasons.notna()])
    leading = [DATA_YEAR, BUILDING_ID, REJECTION_REASON]
    rejected = rejected[leading + [c for c in rejected.columns if c not in leading]]
    dropped = [c for c in (*METERED_COLUMNS, HARMONISATION_ISSUE) if c in raw.columns]
    kept = filled.loc[reasons.isna()].drop(columns=dropped)
    return CleaningResult(cleaned=kept.reset_index(drop=True), rejected=rejected.reset_index(drop=True))


def fill_missing_values(frame: pd.DataFrame) -> pd.DataFrame:
    """`row_rules.fill_missing` on a frame: the same rules serving applies to a request."""
    original = {name: _as_array(frame[name]) for name in frame.columns}
    columns = dict(original)
    fill_missing(columns)
    out = frame.copy()
    for name, values in columns.items():
        if values is not original[name]:  # the rules replace a column they change
            out[name] = pd.Series(values, index=frame.index).astype(frame[name].dtype)
    return out


def _as_array(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(series):
        return series.to_numpy(dtype=float)
    return series.to_numpy(dtype=object, na_value=None)


def cleaned_share(raw_rows: int, cleaned_rows: int) -> float:
    return cleaned_rows / raw_rows if raw_rows else 0.0
