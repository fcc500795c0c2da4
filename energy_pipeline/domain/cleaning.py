"""From the harmonised export to the modelling population, keeping every removed row with its reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from energy_pipeline.domain.columns import BUILDING_ID, DATA_YEAR, METERED_COLUMNS, TARGETS

REJECTION_REASON = "rejection_reason"

# The documented rule per column for missing values in the cleaned table (README and asset metadata show it).
MISSING_VALUE_RULES: dict[str, str] = {
    "default_data": "missing -> False: the portal sets the flag only when default values were used",
    "number_of_buildings": "missing or 0 -> 1: a benchmarked property has at least one building",
    "number_of_floors": "0 -> missing: a building has at least one floor; the model pipeline imputes it",
    "largest_property_use_type": "missing -> primary_property_type: the primary type is the largest use",
    "largest_property_use_type_gfa": "missing -> property_gfa_buildings: the whole building has that use",
    "second_largest_property_use_type_gfa": "missing -> 0: no second use",
    "third_largest_property_use_type_gfa": "missing -> 0: no third use",
    "list_of_all_property_use_types": "missing -> largest_property_use_type",
    "second_largest_property_use_type": "stays missing: no second use (the model treats it as its own level)",
    "third_largest_property_use_type": "stays missing: no third use",
    "energy_star_score": "stays missing: optional input, often unknown before metering",
    "zip_code": "stays missing: optional input; location is carried by coordinates and neighborhood",
}


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
        (lambda f: invalid.reindex(f.index).notna(), lambda f: invalid.reindex(f.index)),
    ]
    for target in TARGETS:
        rules.append(
            (
                lambda f, t=target: f[t].isna(),
                lambda f, t=target: pd.Series(f"missing_target:{t}", index=f.index),
            )
        )
        rules.append(
            (
                lambda f, t=target: f[t] <= 0,
                lambda f, t=target: pd.Series(f"non_positive_target:{t}", index=f.index),
            )
        )
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
    """`invalid_rows`: the raw schema's tolerated row failures (frame index -> rule); rejected too."""
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")
    invalid = pd.Series(dict(invalid_rows), dtype="string").reindex(raw.index)
    for selects, explains in _rejection_rules(invalid):
        hit = selects(raw).fillna(False).astype(bool) & reasons.isna()
        if hit.any():
            reasons[hit] = explains(raw.loc[hit]).astype("string")
    rejected = raw.loc[reasons.notna()].copy()
    rejected.insert(0, REJECTION_REASON, reasons[reasons.notna()])
    leading = [DATA_YEAR, BUILDING_ID, REJECTION_REASON]
    rejected = rejected[leading + [c for c in rejected.columns if c not in leading]]
    kept = raw.loc[reasons.isna()].drop(columns=[c for c in METERED_COLUMNS if c in raw.columns])
    return CleaningResult(
        cleaned=fill_missing_values(kept).reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
    )


def fill_missing_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Apply MISSING_VALUE_RULES: only facts about the row itself, never learned statistics."""
    out = frame.copy()
    out["default_data"] = out["default_data"].fillna(False).astype("boolean")
    out["number_of_buildings"] = out["number_of_buildings"].fillna(1).replace(0, 1)
    out["number_of_floors"] = out["number_of_floors"].mask(out["number_of_floors"] == 0)
    out["largest_property_use_type"] = out["largest_property_use_type"].fillna(out["primary_property_type"])
    out["largest_property_use_type_gfa"] = out["largest_property_use_type_gfa"].fillna(out["property_gfa_buildings"])
    for column in ("second_largest_property_use_type_gfa", "third_largest_property_use_type_gfa"):
        out[column] = out[column].fillna(0.0)
    if "list_of_all_property_use_types" in out.columns:
        out["list_of_all_property_use_types"] = out["list_of_all_property_use_types"].fillna(
            out["largest_property_use_type"]
        )
    return out


def cleaned_share(raw_rows: int, cleaned_rows: int) -> float:
    return cleaned_rows / raw_rows if raw_rows else 0.0
