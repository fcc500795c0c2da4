"""Each schema rule, broken on purpose in a slice of the real 2016 export, fails with a message naming it."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.validation import validate_cleaned, validate_raw

Mutation = Callable[[pd.DataFrame], None]


def _set(column: str, value: object, row: int = 3) -> Mutation:
    def mutate(frame: pd.DataFrame) -> None:
        if isinstance(value, str) and pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value

    return mutate


def _duplicate_id(frame: pd.DataFrame) -> None:
    frame.loc[4, "ose_building_id"] = frame.loc[3, "ose_building_id"]


def _drop(column: str) -> Mutation:
    def drop(frame: pd.DataFrame) -> None:
        del frame[column]

    return drop


@pytest.fixture
def raw_slice(harmonised: dict[int, pd.DataFrame]) -> pd.DataFrame:
    return harmonised[2016].head(200).copy()


def test_real_exports_pass_the_raw_schema(harmonised: dict[int, pd.DataFrame]) -> None:
    assert validate_raw(harmonised[2016], 2016, 0.0).violations == ()
    report_2015 = validate_raw(harmonised[2015], 2015, 0.01)
    assert report_2015.passed
    # 2015 really has four negative floor areas: tolerated in the raw table, named, rejected by cleaning.
    assert sorted(report_2015.invalid_rows.values()) == sorted(
        ["invalid:property_gfa_parking:greater_than_or_equal_to(0)"] * 2
        + ["invalid:property_gfa_buildings:greater_than_or_equal_to(0)"] * 2
    )


@pytest.mark.parametrize(
    ("mutate", "column", "check", "structural"),
    [
        (_set("property_gfa_parking", -10.0), "property_gfa_parking", "greater_than_or_equal_to(0)", False),
        (_set("property_gfa_total", 1e12), "property_gfa_total", "less_than_or_equal_to", False),
        (
            _set("property_gfa_parking", 1e6),
            "property_gfa_parking+property_gfa_buildings+property_gfa_total",
            "gfa_parts_within_total",
            False,
        ),
        (_set("year_built", 1700), "year_built", "greater_than_or_equal_to(1850)", False),
        (_set("year_built", 2031), "year_built+data_year", "year_built_not_after_data_year", False),
        (_set("latitude", 40.71), "latitude", "greater_than_or_equal_to(47.45)", False),
        (_set("longitude", -74.0), "longitude", "less_than_or_equal_to", False),
        (_set("energy_star_score", 150.0), "energy_star_score", "less_than_or_equal_to(100)", False),
        (_set("zip_code", "9810"), "zip_code", "str_matches", False),
        (_set("council_district_code", 9), "council_district_code", "less_than_or_equal_to(7)", False),
        (_set("number_of_floors", -1.0), "number_of_floors", "greater_than_or_equal_to(0)", False),
        (_set("property_gfa_total", "lots"), "property_gfa_total", "coerce_dtype", True),
        (_set("data_year", 2015), "data_year", "equal_to(2016)", True),
        (_set("building_type", None), "building_type", "not_nullable", True),
        (_duplicate_id, "data_year+ose_building_id", "one_row_per_building", False),
        (_drop("year_built"), "year_built", "column_in_dataframe", True),
    ],
)
def test_each_raw_rule_is_named(
    raw_slice: pd.DataFrame, mutate: Mutation, column: str, check: str, structural: bool
) -> None:
    mutate(raw_slice)
    report = validate_raw(raw_slice, 2016, max_invalid_row_share=0.0)
    assert not report.passed
    matching = [v for v in report.violations if v.column == column and v.check.startswith(check)]
    assert matching, report.describe()
    violation = matching[0]
    assert violation.structural is structural
    assert column in report.describe() and check in report.describe()
    if check != "column_in_dataframe":
        assert 4 in violation.sample_source_rows  # frame row 3 is the file's 4th data row
    assert any(record["column"] == column for record in report.as_records())


def test_value_rules_are_tolerated_up_to_the_share_and_block_beyond(raw_slice: pd.DataFrame) -> None:
    raw_slice.loc[3, "property_gfa_parking"] = -5.0
    tolerant = validate_raw(raw_slice, 2016, max_invalid_row_share=0.01)
    assert tolerant.passed
    assert tolerant.invalid_rows == {3: "invalid:property_gfa_parking:greater_than_or_equal_to(0)"}
    raw_slice.loc[10:20, "property_gfa_parking"] = -5.0  # 12 of 200 rows: a broken file, not a typo
    blocked = validate_raw(raw_slice, 2016, max_invalid_row_share=0.01)
    assert not blocked.passed
    assert blocked.blocking_violations[0].failing_rows == 12


def test_structural_failures_block_whatever_the_tolerance(raw_slice: pd.DataFrame) -> None:
    raw_slice["data_year"] = 2015
    assert not validate_raw(raw_slice, 2016, max_invalid_row_share=1.0).passed


def test_two_different_rows_for_one_building_are_both_rejected_and_the_year_passes(raw_slice: pd.DataFrame) -> None:
    _duplicate_id(raw_slice)
    report = validate_raw(raw_slice, 2016, max_invalid_row_share=0.02)
    assert report.passed, report.describe()
    result = clean_buildings(raw_slice, report.invalid_rows)
    duplicated = result.rejected[result.rejected["rejection_reason"].str.contains("one_row_per_building")]
    assert sorted(duplicated["source_row"]) == [4, 5]
    assert raw_slice.loc[3, "ose_building_id"] not in set(result.cleaned["ose_building_id"])


@pytest.fixture
def cleaned_slice(harmonised: dict[int, pd.DataFrame]) -> pd.DataFrame:
    raw = harmonised[2016]
    return clean_buildings(raw, validate_raw(raw, 2016, 0.01).invalid_rows).cleaned.head(200).copy()


def test_cleaned_population_passes(cleaned_slice: pd.DataFrame) -> None:
    assert validate_cleaned(cleaned_slice).violations == ()


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("site_energy_use_kbtu", 0.0, "greater_than(0)"),
        ("total_ghg_emissions", -1.0, "greater_than(0)"),
        ("building_type", "Multifamily MR (5-9)", "not_residential"),
        ("compliance_status", "Non-Compliant", "isin"),
        ("outlier", "high outlier", "isin"),
        ("number_of_buildings", 0.0, "greater_than_or_equal_to(1)"),
    ],
)
def test_each_cleaned_rule_is_named(cleaned_slice: pd.DataFrame, column: str, value: object, check: str) -> None:
    cleaned_slice.loc[7, column] = value
    report = validate_cleaned(cleaned_slice)
    assert not report.passed
    assert any(v.column == column and v.check.startswith(check) for v in report.violations), report.describe()


def test_metered_columns_are_refused_in_the_cleaned_table(cleaned_slice: pd.DataFrame) -> None:
    cleaned_slice["electricity_kbtu"] = 1.0
    report = validate_cleaned(cleaned_slice)
    assert [v.check for v in report.blocking_violations] == ["no_metered_columns"]
