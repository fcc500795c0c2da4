"""Data contracts for the buildings tables (pandera) and the report the quality gates act on.

Two kinds of failure are told apart:
- structural (missing column, a value that is not a number, duplicated id, wrong data year, missing required
  value): the file is broken, so the gate blocks whatever the count;
- row values out of range (negative area, coordinates outside Seattle, ...): real exports carry a handful of
  these (2015 has two negative floor areas), so the raw gate blocks only when more than a configured share of
  rows breaks one rule; below that, cleaning rejects exactly those rows with the rule as the reason.
The cleaned table allows no failure at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, METERED_COLUMNS
from energy_pipeline.core.limits import (
    GFA_PARTS_TOLERANCE,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    MAX_FLOOR_AREA_SQFT,
    MAX_FLOORS,
    YEAR_BUILT_MIN,
)
from energy_pipeline.data.ingest import SOURCE_ROW


class RawBuildingsSchema(pa.DataFrameModel):
    """The harmonised export of one data year: every column typed, ranges that any real building satisfies.

    A missing value is never structural here: one building's gap is that building's problem (cleaning rejects the
    row when the model needs the value), not a broken file."""

    ose_building_id: Series[int] = pa.Field(ge=1, description="City's building id")
    data_year: Series[int] = pa.Field(ge=2000, le=2100, description="Reporting year")
    building_type: Series[str] = pa.Field(description="Portal's building class (NonResidential, Multifamily ...)")
    primary_property_type: Series[str] = pa.Field(nullable=True, description="ENERGY STAR's list (2018 on)")
    zip_code: Series[str] = pa.Field(nullable=True, str_matches=r"^\d{5}$")
    council_district_code: Series[pd.Int64Dtype] = pa.Field(ge=1, le=7, nullable=True)
    neighborhood: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(ge=LATITUDE_RANGE[0], le=LATITUDE_RANGE[1], nullable=True)
    longitude: Series[float] = pa.Field(ge=LONGITUDE_RANGE[0], le=LONGITUDE_RANGE[1], nullable=True)
    year_built: Series[pd.Int64Dtype] = pa.Field(ge=YEAR_BUILT_MIN, nullable=True)
    number_of_buildings: Series[float] = pa.Field(ge=0, nullable=True)
    number_of_floors: Series[float] = pa.Field(ge=0, le=MAX_FLOORS, nullable=True)
    property_gfa_total: Series[float] = pa.Field(gt=0, le=MAX_FLOOR_AREA_SQFT, nullable=True, description="sq ft")
    property_gfa_parking: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, nullable=True, description="sq ft")
    property_gfa_buildings: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, nullable=True, description="sq ft")
    largest_property_use_type_gfa: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, nullable=True)
    second_largest_property_use_type_gfa: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, nullable=True)
    third_largest_property_use_type_gfa: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, nullable=True)
    largest_property_use_type: Series[str] = pa.Field(nullable=True)
    second_largest_property_use_type: Series[str] = pa.Field(nullable=True)
    third_largest_property_use_type: Series[str] = pa.Field(nullable=True)
    energy_star_score: Series[float] = pa.Field(ge=1, le=100, nullable=True, description="optional input")
    site_energy_use_kbtu: Series[float] = pa.Field(nullable=True, description="target, kBtu per year")
    total_ghg_emissions: Series[float] = pa.Field(nullable=True, description="target, t CO2e per year")
    default_data: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    compliance_status: Series[str] = pa.Field(nullable=True)
    outlier: Series[str] = pa.Field(nullable=True)

    @pa.dataframe_check(name="gfa_parts_within_total")
    @classmethod
    def gfa_parts_within_total(cls, df: pd.DataFrame) -> Series[bool]:
        parts = df["property_gfa_parking"].fillna(0) + df["property_gfa_buildings"].fillna(0)
        return (parts <= df["property_gfa_total"] * (1 + GFA_PARTS_TOLERANCE)) | df["property_gfa_total"].isna()

    @pa.dataframe_check(name="year_built_not_after_data_year")
    @classmethod
    def year_built_not_after_data_year(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["year_built"] <= df["data_year"]).fillna(True).astype(bool)

    @pa.dataframe_check(name="one_row_per_building")
    @classmethod
    def one_row_per_building(cls, df: pd.DataFrame) -> Series[bool]:
        """Two different rows for one building in one year: neither can be trusted, both are rejected (exact
        repeats were collapsed by harmonising). Many such rows mean a broken file, and the share rule blocks it."""
        return ~df.duplicated([DATA_YEAR, BUILDING_ID], keep=False)

    class Config:
        coerce = True
        strict = False  # unknown extra columns are kept


class CleanedBuildingsSchema(RawBuildingsSchema):
    """The modelling population. Metered columns (EUI, electricity, gas, steam, GHG intensity) are measured
    only after a building is metered, so they are absent here: nothing downstream can model on them."""

    primary_property_type: Series[str] = pa.Field()
    year_built: Series[pd.Int64Dtype] = pa.Field(ge=YEAR_BUILT_MIN)
    property_gfa_total: Series[float] = pa.Field(gt=0, le=MAX_FLOOR_AREA_SQFT, description="sq ft")
    property_gfa_parking: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, description="sq ft")
    property_gfa_buildings: Series[float] = pa.Field(ge=0, le=MAX_FLOOR_AREA_SQFT, description="sq ft")
    number_of_buildings: Series[float] = pa.Field(ge=1)
    number_of_floors: Series[float] = pa.Field(ge=1, le=MAX_FLOORS, nullable=True)
    largest_property_use_type: Series[str] = pa.Field()
    largest_property_use_type_gfa: Series[float] = pa.Field(gt=0, le=MAX_FLOOR_AREA_SQFT)
    site_energy_use_kbtu: Series[float] = pa.Field(gt=0, description="target, kBtu per year")
    total_ghg_emissions: Series[float] = pa.Field(gt=0, description="target, t CO2e per year")
    default_data: Series[pd.BooleanDtype] = pa.Field(isin=[False])
    compliance_status: Series[str] = pa.Field(isin=["Compliant"])
    outlier: Series[str] = pa.Field(nullable=True, isin=[])

    class Config:
        coerce = True
        strict = False
        unique = [DATA_YEAR, BUILDING_ID]

    @pa.check("building_type", name="not_residential")
    @classmethod
    def not_residential(cls, series: Series[str]) -> Series[bool]:
        return ~series.str.lower().str.startswith("multifamily")

    @pa.dataframe_check(name="no_metered_columns")
    @classmethod
    def no_metered_columns(cls, df: pd.DataFrame) -> bool:
        return not set(METERED_COLUMNS).intersection(df.columns)


_STRUCTURAL_CHECK_PREFIXES = (
    "column_in_dataframe",
    "column_in_schema",
    "coerce_dtype",
    "dtype",
    "multiple_fields_uniqueness",
    "field_uniqueness",
    "not_nullable",
    "equal_to",  # data year of the rows against the file's year
    "no_metered_columns",
)
_WIDE_CHECK_COLUMNS = {
    "gfa_parts_within_total": "property_gfa_parking+property_gfa_buildings+property_gfa_total",
    "year_built_not_after_data_year": "year_built+data_year",
    "one_row_per_building": "data_year+ose_building_id",
    "no_metered_columns": "metered columns",
}
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class RuleViolation:
    """One failed rule of a schema, with enough context to find the rows in the source file."""

    column: str
    check: str
    failing_rows: int
    structural: bool
    sample_building_ids: tuple[object, ...] = ()
    sample_source_rows: tuple[int, ...] = ()
    sample_values: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return f"invalid:{self.column}:{self.check}"

    def describe(self) -> str:
        values = f" e.g. {list(self.sample_values)[:3]}" if self.sample_values else ""
        if not self.failing_rows:
            return f"{self.column}: {self.check} failed:{values}"
        where = f" (source rows {list(self.sample_source_rows)})" if self.sample_source_rows else ""
        return f"{self.column}: {self.check} failed on {self.failing_rows} row(s){where},{values}"


@dataclass(frozen=True)
class ValidationReport:
    table: str
    n_rows: int
    max_invalid_row_share: float
    violations: tuple[RuleViolation, ...] = ()
    invalid_rows: dict[int, str] = field(default_factory=dict)  # frame index -> first failed value rule

    @property
    def blocking_violations(self) -> tuple[RuleViolation, ...]:
        allowed = self.max_invalid_row_share * self.n_rows
        return tuple(v for v in self.violations if v.structural or v.failing_rows > allowed)

    @property
    def passed(self) -> bool:
        return not self.blocking_violations

    def describe(self) -> str:
        if not self.violations:
            return f"{self.table}: all {self.n_rows} rows pass every rule"
        blocking = self.blocking_violations
        lines = [
            f"{self.table}: {len(blocking)} blocking rule failure(s), "
            f"{len(self.violations) - len(blocking)} tolerated (rows rejected by cleaning)"
        ]
        lines += [("BLOCKING " if v in blocking else "tolerated ") + v.describe() for v in self.violations]
        return "\n".join(lines)

    def as_records(self) -> list[dict[str, object]]:
        blocking = self.blocking_violations
        return [
            {
                "column": v.column,
                "rule": v.check,
                "failing_rows": v.failing_rows,
                "blocking": v in blocking,
                "sample_building_ids": ", ".join(map(str, v.sample_building_ids)),
                "sample_source_rows": ", ".join(map(str, v.sample_source_rows)),
                "sample_values": ", ".join(v.sample_values[:3]),
            }
            for v in self.violations
        ]


def validate_raw(frame: pd.DataFrame, data_year: int, max_invalid_row_share: float) -> ValidationReport:
    schema = RawBuildingsSchema.to_schema().update_column(DATA_YEAR, checks=[pa.Check.equal_to(data_year)])
    return _run(schema, frame, "raw_buildings", max_invalid_row_share)


def validate_cleaned(frame: pd.DataFrame) -> ValidationReport:
    return _run(CleanedBuildingsSchema.to_schema(), frame, "cleaned_buildings", 0.0)


def _run(schema: pa.DataFrameSchema, frame: pd.DataFrame, table: str, share: float) -> ValidationReport:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        violations, invalid_rows = _summarise(errors.failure_cases, frame)
        return ValidationReport(table, len(frame), share, violations, invalid_rows)
    return ValidationReport(table, len(frame), share)


def _summarise(failure_cases: pd.DataFrame, frame: pd.DataFrame) -> tuple[tuple[RuleViolation, ...], dict[int, str]]:
    violations: list[RuleViolation] = []
    invalid_rows: dict[int, str] = {}
    cases = failure_cases.assign(check=failure_cases["check"].astype(str))
    for column_name, check, group in _rule_groups(cases):
        indices = [int(i) for i in pd.unique(group["index"].dropna())]
        structural = check.startswith(_STRUCTURAL_CHECK_PREFIXES) or group["index"].isna().any()
        rows = frame.loc[[i for i in indices if i in frame.index]]
        violation = RuleViolation(
            column=column_name,
            check=check,
            failing_rows=len(indices),
            structural=bool(structural),
            sample_building_ids=tuple(_sample(rows, BUILDING_ID)),
            sample_source_rows=tuple(int(str(v)) for v in _sample(rows, SOURCE_ROW)),
            sample_values=_sample_values(check, column_name, group, rows),
        )
        violations.append(violation)
        if not violation.structural:
            for index in indices:
                invalid_rows.setdefault(index, violation.reason)
    return tuple(violations), invalid_rows


def _rule_groups(cases: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """One group per rule: column rules per column; table-wide rules (reported cell by cell) whole."""
    for (context, check), group in cases.groupby(["schema_context", "check"], sort=False):
        if context == "Column":
            for column, per_column in group.groupby("column", sort=False):
                yield str(column), str(check), per_column
        elif check in _WIDE_CHECK_COLUMNS:
            yield _WIDE_CHECK_COLUMNS[check], str(check), group
        elif str(check).startswith("column_in_"):
            yield "+".join(sorted(group["failure_case"].astype(str).unique())), str(check), group
        else:
            yield "+".join(dict.fromkeys(group["column"].astype(str))), str(check), group


def _sample_values(check: str, column_name: str, group: pd.DataFrame, rows: pd.DataFrame) -> tuple[str, ...]:
    columns = [c for c in column_name.split("+") if c in rows.columns]
    if check in _WIDE_CHECK_COLUMNS and columns and not rows.empty:
        return tuple(rows[columns].astype(str).agg("/".join, axis=1).head(SAMPLE_SIZE))
    return tuple(str(v) for v in pd.unique(group["failure_case"].astype(str))[:SAMPLE_SIZE])


def _sample(rows: pd.DataFrame, column: str) -> list[object]:
    if column not in rows.columns:
        return []
    return rows[column].head(SAMPLE_SIZE).tolist()
