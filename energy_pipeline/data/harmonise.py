"""Bringing every year's export onto one canonical, typed schema, by the layout its header declares.

Values that cannot be parsed as numbers are left as text on purpose: the raw schema's type coercion then names
the rows and columns, instead of this module turning a typo into a silent NaN. Category values go through
`categories.canonical_category`, the same function that harmonises a prediction request.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energy_pipeline.core.columns import FLOAT_COLUMNS, INTEGER_COLUMNS, REQUIRED_RAW_COLUMNS, canonical_name
from energy_pipeline.data.categories import CATEGORY_COLUMNS, UnmappedValue, canonical_category
from energy_pipeline.data.ingest import SOURCE_ROW, IngestionError
from energy_pipeline.data.layouts import Derivation, Layout, LayoutError, recognise
from energy_pipeline.data.row_rules import zeros_as_missing

HARMONISATION_ISSUE = "harmonisation_issue"  # why a row's value has no canonical meaning (cleaning rejects it)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_LOCATION_PARTS = ("address", "city", "state", "zip_code", "latitude", "longitude")
# What `ComplianceIssue` (2018 on) says of the two flags it replaced: "Default Data and Low Outlier - EUI" is both.
_DEFAULT_DATA_ISSUE = re.compile(r"\bdefault data\b", re.IGNORECASE)
_OUTLIER_ISSUE = re.compile(r"\b(low|high) outlier\b", re.IGNORECASE)


@dataclass(frozen=True)
class Harmonised:
    """One export on the canonical schema, and what harmonising it changed."""

    frame: pd.DataFrame
    layout: str
    zeros_as_missing: dict[str, int] = field(default_factory=dict)  # column -> zeros read as missing
    exact_duplicates: int = 0  # rows collapsed because another row said exactly the same
    unmapped: dict[str, int] = field(default_factory=dict)  # column -> rows whose value has no canonical meaning


def harmonise(frame: pd.DataFrame) -> pd.DataFrame:
    return harmonise_export(frame).frame


def harmonise_export(frame: pd.DataFrame) -> Harmonised:
    """Canonical names by the recognised layout, derived columns it lacks, typed numbers and booleans, impossible
    zeros as missing, canonical category values, exact duplicate rows collapsed."""
    try:
        match = recognise(c for c in frame.columns if c != SOURCE_ROW)
    except LayoutError as exc:
        raise IngestionError(str(exc)) from exc
    out = _rename(frame, match.columns)
    for column, how in match.layout.derived.items():
        out = DERIVATIONS[how](out, column)
    for column in INTEGER_COLUMNS:
        if column in out.columns:
            out[column] = _parse_number(out[column], integer=True)
    for column in FLOAT_COLUMNS:
        if column in out.columns:
            out[column] = _parse_number(out[column], integer=False)
    if "default_data" in out.columns:
        out["default_data"] = _parse_bool(out["default_data"])
    if "zip_code" in out.columns:
        out["zip_code"] = out["zip_code"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    zeros = _zeros_as_missing(out)
    out, unmapped = _canonical_categories(out)
    out, duplicates = _collapse_exact_duplicates(out)
    return Harmonised(_order_columns(out), match.layout.name, zeros, duplicates, unmapped)


def layout_of(frame: pd.DataFrame) -> Layout:
    return recognise(c for c in frame.columns if c != SOURCE_ROW).layout


def _rename(frame: pd.DataFrame, layout_columns: dict[str, str]) -> pd.DataFrame:
    """Rename to canonical names; when two source columns share one name, the first non-null value wins."""
    out = pd.DataFrame(index=frame.index)
    for source in frame.columns:
        target = SOURCE_ROW if source == SOURCE_ROW else layout_columns.get(source, canonical_name(source))
        if target in out.columns:
            out[target] = out[target].fillna(frame[source])
        else:
            out[target] = frame[source]
    return out


def _left_missing(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    if column not in frame.columns:
        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame


def _from_location(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """2015 packs coordinates and the address into a dict-like string; split it into the later columns."""
    if "location" not in frame.columns:
        return _left_missing(frame, column)
    unpacked = pd.DataFrame(frame["location"].map(parse_location).tolist(), index=frame.index)
    out = frame.drop(columns=["location"])
    for part in _LOCATION_PARTS:
        out[part] = out[part].fillna(unpacked[part]) if part in out.columns else unpacked[part]
    return out


def parse_location(value: object) -> dict[str, str | None]:
    empty: dict[str, str | None] = dict.fromkeys(_LOCATION_PARTS)
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


def _from_compliance_issue(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """2018 on: `ComplianceIssue` names the default-data and outlier findings `DefaultData`/`Outlier` held."""
    issue = frame["compliance_issue"].astype("string") if "compliance_issue" in frame.columns else None
    if issue is None:
        return _left_missing(frame, column)
    if column == "default_data":
        frame[column] = issue.str.contains(_DEFAULT_DATA_ISSUE).map(
            lambda hit: pd.NA if hit is pd.NA else ("true" if hit else "false")
        )
    else:
        frame[column] = issue.str.extract(_OUTLIER_ISSUE, expand=False).map(
            lambda side: side if side is pd.NA or side != side else f"{side} outlier"
        )
    return frame


DERIVATIONS: dict[Derivation, Callable[[pd.DataFrame, str], pd.DataFrame]] = {
    "missing": _left_missing,
    "from_location": _from_location,
    "from_compliance_issue": _from_compliance_issue,
    # the City's type is gone: cleaning's rule for a missing `primary_property_type` takes ENERGY STAR's
    "from_epa_property_type": _left_missing,
}


def _parse_number(series: pd.Series, *, integer: bool) -> pd.Series:
    """Accept the portal's '88,434' thousands separators; keep the column as text if a value is no number.
    Integers that may be missing are pandas' nullable Int64."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    text = series.astype("string").str.strip()
    text = text.mask(text.str.fullmatch(_THOUSANDS.pattern).fillna(False), text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(text, errors="coerce")
    unparsed = numbers.isna() & text.notna() & (text != "")
    if unparsed.any():
        return series
    if integer and (numbers.dropna() == numbers.dropna().round()).all():
        return numbers.astype("Int64")
    return numbers.astype("float64")


def _parse_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    known = text.isin(_TRUE | _FALSE) | text.isna()
    if not known.all():
        return series
    return text.map(lambda v: None if pd.isna(v) else v in _TRUE).astype("boolean")


def _zeros_as_missing(frame: pd.DataFrame) -> dict[str, int]:
    """`row_rules.zeros_as_missing` on the frame's numeric columns (a column left as text is the schema's case)."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_float_dtype(series):
            columns[name] = series.to_numpy(dtype=float)
        elif isinstance(series.dtype, pd.Int64Dtype | pd.StringDtype):
            columns[name] = series.to_numpy(dtype=object, na_value=None)
    counts = zeros_as_missing(columns)
    for name in counts:
        frame[name] = pd.Series(columns[name], index=frame.index).astype(frame[name].dtype)
    return counts


def _canonical_categories(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each distinct value once through `canonical_category`; a value without one canonical meaning stays as
    written and its rows get the reason in `harmonisation_issue`."""
    issues = pd.Series(pd.NA, index=frame.index, dtype="string")
    unmapped: dict[str, int] = {}
    for column in CATEGORY_COLUMNS:
        if column not in frame.columns:
            continue
        text = frame[column].astype("string")
        mapping: dict[str, str | None] = {}
        for value in text.dropna().unique():
            try:
                mapping[value] = canonical_category(column, value)
            except UnmappedValue as exc:
                hit = (text == value).fillna(False) & issues.isna()
                issues[hit] = str(exc)
                unmapped[column] = unmapped.get(column, 0) + int((text == value).sum())
                mapping[value] = value
        frame[column] = text.map(mapping).astype("string")
    if unmapped:
        frame[HARMONISATION_ISSUE] = issues
    return frame, unmapped


def _collapse_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A row that repeats another exactly (its source row number aside) says nothing new: kept once, counted."""
    repeated = frame.drop(columns=[SOURCE_ROW]).duplicated(keep="first") if SOURCE_ROW in frame else frame.duplicated()
    return frame.loc[~np.asarray(repeated)], int(repeated.sum())


def _order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    leading = (SOURCE_ROW, *REQUIRED_RAW_COLUMNS, "epa_property_type", "property_name", "address", "city", "state")
    known = [c for c in leading if c in frame.columns]
    extras = [c for c in frame.columns if c not in known]
    return frame[known + extras].reset_index(drop=True)
