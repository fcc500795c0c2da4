"""What a missing or impossible value of a building means: facts that hold in every export and every request.

One implementation over column arrays (categories as object arrays with None, numbers as float arrays with NaN):
harmonising and cleaning apply it to an export's rows, serving to a request's buildings, so a building gets the
same model inputs whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

Columns = MutableMapping[str, np.ndarray]

# No real building has 0 here, so a 0 is a missing value written as 0 (the 2021 export does this throughout).
ZERO_MEANS_MISSING: tuple[str, ...] = (
    "year_built",
    "latitude",
    "longitude",
    "zip_code",
    "council_district_code",
    "property_gfa_total",
    "property_gfa_buildings",
    "largest_property_use_type_gfa",
    "second_largest_property_use_type_gfa",
    "third_largest_property_use_type_gfa",
    "number_of_floors",
    "energy_star_score",
)

# The documented rule per column for missing values (README and asset metadata show it); `fill_missing` applies it.
MISSING_VALUE_RULES: dict[str, str] = {
    "zeros": f"0 -> missing in {', '.join(ZERO_MEANS_MISSING)}: no building has 0 there",
    "default_data": "missing -> False: the portal sets the flag only when default values were used",
    "number_of_buildings": "missing or 0 -> 1: a benchmarked property has at least one building",
    "property_gfa_parking": "missing -> 0: no parking",
    "property_gfa_buildings": "missing -> property_gfa_total - property_gfa_parking",
    "primary_property_type": "missing -> epa_property_type, else largest_property_use_type (2020 on: the "
    "City's own type is gone; ENERGY STAR's type is the same for every non-residential building of 2019)",
    "largest_property_use_type": "missing -> primary_property_type: the primary type is the largest use",
    "largest_property_use_type_gfa": "missing -> property_gfa_buildings: the whole building has that use",
    "second_largest_property_use_type_gfa": "missing -> 0: no second use",
    "third_largest_property_use_type_gfa": "missing -> 0: no third use",
    "second_largest_property_use_type": "stays missing: no second use (the model treats it as its own level)",
    "third_largest_property_use_type": "stays missing: no third use",
    "energy_star_score": "stays missing: optional input, often unknown before metering",
    "zip_code": "stays missing: optional input; location is carried by coordinates and neighborhood",
    "latitude": "stays missing: the model imputes it (the steam-loop feature counts it as away from the loop)",
}


def missing(values: np.ndarray) -> np.ndarray:
    """Where a column holds no value: NaN in a number column, None (or NaN, NA) in an object column."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.array([v is None or v != v for v in values.tolist()], dtype=bool)


def zeros_as_missing(columns: Columns) -> dict[str, int]:
    """Set the impossible zeros of `ZERO_MEANS_MISSING` missing, in place; returns how many per column."""
    counts: dict[str, int] = {}
    for name in ZERO_MEANS_MISSING:
        values = columns.get(name)
        if values is None:
            continue
        if values.dtype.kind == "f":
            zero = values == 0
        else:
            zero = np.array([v == 0 or (isinstance(v, str) and v.strip() in ("0", "0.0")) for v in values.tolist()])
        if zero.any():
            values = values.copy()
            values[zero] = np.nan if values.dtype.kind == "f" else None
            columns[name] = values
            counts[name] = int(zero.sum())
    return counts


def _fill(columns: Columns, name: str, fallback: np.ndarray | float | bool | str) -> None:
    values = columns.get(name)
    if values is None:
        return
    gaps = missing(values)
    if gaps.any():
        values = values.copy()
        values[gaps] = fallback[gaps] if isinstance(fallback, np.ndarray) else fallback
        columns[name] = values


def fill_missing(columns: Columns) -> None:
    """Apply MISSING_VALUE_RULES in place: only facts about the building itself, never learned statistics. Columns
    a caller does not have (a request has no `default_data`) are left out."""
    _fill(columns, "default_data", False)
    if "number_of_buildings" in columns:
        buildings = columns["number_of_buildings"]
        columns["number_of_buildings"] = np.where(missing(buildings) | (buildings == 0), 1.0, buildings)
    _fill(columns, "property_gfa_parking", 0.0)
    if "property_gfa_total" in columns and "property_gfa_parking" in columns:
        _fill(columns, "property_gfa_buildings", columns["property_gfa_total"] - columns["property_gfa_parking"])
    for fallback in ("epa_property_type", "largest_property_use_type"):
        if fallback in columns:
            _fill(columns, "primary_property_type", columns[fallback])
    if "primary_property_type" in columns:
        _fill(columns, "largest_property_use_type", columns["primary_property_type"])
    if "property_gfa_buildings" in columns:
        _fill(columns, "largest_property_use_type_gfa", columns["property_gfa_buildings"])
    _fill(columns, "second_largest_property_use_type_gfa", 0.0)
    _fill(columns, "third_largest_property_use_type_gfa", 0.0)
