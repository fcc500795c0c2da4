"""Bringing every year's export onto one canonical, typed schema.

Values that cannot be parsed are left as text on purpose: the raw schema's type coercion then names the rows
and columns, instead of this module turning a typo into a silent NaN.
"""

from __future__ import annotations

import ast
import json
import re

import pandas as pd

from energy_pipeline.domain.columns import (
    CATEGORY_COLUMNS,
    FLOAT_COLUMNS,
    INTEGER_COLUMNS,
    REQUIRED_RAW_COLUMNS,
    canonical_name,
)
from energy_pipeline.domain.ingest import SOURCE_ROW

# Spelling differences between years, mapped onto one label per category (keys compared case-insensitively).
CATEGORY_ALIASES: dict[str, dict[str, str]] = {
    "primary_property_type": {
        "supermarket / grocery store": "Supermarket/Grocery Store",
        "university": "College/University",
        "residence hall": "Residence Hall/Dormitory",
        "warehouse": "Non-Refrigerated Warehouse",
        "sps-district k-12": "K-12 School",
    },
    "neighborhood": {"delridge neighborhoods": "DELRIDGE"},
    "compliance_status": {"not compliant": "Non-Compliant"},
    "building_type": {"nonresidential": "NonResidential"},
}
_UPPER_CASE_COLUMNS = ("neighborhood", "city")
_LOWER_CASE_COLUMNS = ("outlier",)

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def harmonise(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical names, 2015's Location unpacked, typed numbers and booleans, normalised categories."""
    out = _rename(frame)
    if "location" in out.columns:
        out = _unpack_location(out)
    for column in INTEGER_COLUMNS:
        if column in out.columns:
            out[column] = _parse_number(out[column], integer=True)
    for column in FLOAT_COLUMNS:
        if column in out.columns:
            out[column] = _parse_number(out[column], integer=False)
    if "default_data" in out.columns:
        out["default_data"] = _parse_bool(out["default_data"])
    for column in CATEGORY_COLUMNS:
        if column in out.columns:
            out[column] = _normalise_category(out[column], column)
    if "zip_code" in out.columns:
        out["zip_code"] = out["zip_code"].str.strip().str.replace(r"\.0$", "", regex=True)
    return _order_columns(out)


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename to canonical names; when two source columns share one name, the first non-null value wins."""
    out = pd.DataFrame(index=frame.index)
    for source in frame.columns:
        target = SOURCE_ROW if source == SOURCE_ROW else canonical_name(source)
        if target in out.columns:
            out[target] = out[target].fillna(frame[source])
        else:
            out[target] = frame[source]
    return out


def _unpack_location(frame: pd.DataFrame) -> pd.DataFrame:
    """2015 packs coordinates and the address into a dict-like string; split it into 2016's columns."""
    parsed = frame["location"].map(_parse_location)
    unpacked = pd.DataFrame(parsed.tolist(), index=frame.index)
    out = frame.drop(columns=["location"])
    for column in ("address", "city", "state", "zip_code", "latitude", "longitude"):
        if column in out.columns:
            out[column] = out[column].fillna(unpacked[column])
        else:
            out[column] = unpacked[column]
    return out


def _parse_location(value: object) -> dict[str, str | None]:
    empty: dict[str, str | None] = dict.fromkeys(("address", "city", "state", "zip_code", "latitude", "longitude"))
    if not isinstance(value, str) or not value.strip():
        return empty
    try:
        location = ast.literal_eval(value)
        human = location.get("human_address") or "{}"
        address = json.loads(human) if isinstance(human, str) else dict(human)
    except (ValueError, SyntaxError, TypeError, AttributeError):
        return {**empty, "latitude": value}  # left as text so the schema reports the unparseable location
    return {
        "address": address.get("address"),
        "city": address.get("city"),
        "state": address.get("state"),
        "zip_code": address.get("zip"),
        "latitude": location.get("latitude"),
        "longitude": location.get("longitude"),
    }


def _parse_number(series: pd.Series, *, integer: bool) -> pd.Series:
    """Accept the portal's '88,434' thousands separators; keep the column as text if a value is no number."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    text = series.astype("string").str.strip()
    text = text.mask(text.str.fullmatch(_THOUSANDS.pattern).fillna(False), text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(text, errors="coerce")
    unparsed = numbers.isna() & text.notna() & (text != "")
    if unparsed.any():
        return series
    if integer and numbers.notna().all() and (numbers == numbers.round()).all():
        return numbers.astype("int64")
    return numbers.astype("float64")


def _parse_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    known = text.isin(_TRUE | _FALSE) | text.isna()
    if not known.all():
        return series
    return text.map(lambda v: None if pd.isna(v) else v in _TRUE).astype("boolean")


def _normalise_category(series: pd.Series, column: str) -> pd.Series:
    text = series.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
    text = text.mask(text == "")
    aliases = CATEGORY_ALIASES.get(column, {})
    if aliases:
        text = text.map(lambda v: v if pd.isna(v) else aliases.get(v.lower(), v), na_action="ignore")
    if column in _UPPER_CASE_COLUMNS:
        text = text.str.upper()
    if column in _LOWER_CASE_COLUMNS:
        text = text.str.lower()
    return text.astype("string")


def _order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    leading = (SOURCE_ROW, *REQUIRED_RAW_COLUMNS, "property_name", "address", "city", "state")
    known = [c for c in leading if c in frame.columns]
    extras = [c for c in frame.columns if c not in known]
    return frame[known + extras].reset_index(drop=True)
