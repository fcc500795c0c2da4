"""The modelling population, the reason for each rejected row, and the missing-value rules."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, METERED_COLUMNS
from energy_pipeline.data.cleaning import (
    REJECTION_REASON,
    CleaningResult,
    clean_buildings,
    fill_missing_values,
)
from energy_pipeline.data.validation import validate_raw


@pytest.fixture(scope="module")
def cleaned(harmonised: dict[int, pd.DataFrame]) -> dict[int, CleaningResult]:
    return {
        year: clean_buildings(frame, validate_raw(frame, year, 0.01).invalid_rows) for year, frame in harmonised.items()
    }


def test_no_row_is_lost(harmonised: dict[int, pd.DataFrame], cleaned: dict[int, CleaningResult]) -> None:
    for year, result in cleaned.items():
        assert len(result.cleaned) + len(result.rejected) == len(harmonised[year])
        kept_ids = set(result.cleaned[BUILDING_ID]) | set(result.rejected[BUILDING_ID])
        assert kept_ids == set(harmonised[year][BUILDING_ID])
        assert result.rejected[REJECTION_REASON].notna().all()
        assert list(result.rejected.columns[:3]) == [DATA_YEAR, BUILDING_ID, REJECTION_REASON]


def test_population_is_non_residential_with_positive_targets(cleaned: dict[int, CleaningResult]) -> None:
    for result in cleaned.values():
        frame = result.cleaned
        assert not frame["building_type"].str.startswith("Multifamily").any()
        assert not frame["primary_property_type"].str.contains("Multifamily").any()
        assert (frame["site_energy_use_kbtu"] > 0).all() and (frame["total_ghg_emissions"] > 0).all()
        assert set(frame["compliance_status"]) == {"Compliant"}
        assert frame["outlier"].isna().all() and not frame["default_data"].any()
        assert not set(METERED_COLUMNS) & set(frame.columns)


def test_reasons_match_the_real_data(cleaned: dict[int, CleaningResult]) -> None:
    counts_2016 = cleaned[2016].reason_counts()
    assert counts_2016["residential:building_type"] == 1708  # 1018 + 580 + 110 Multifamily rows
    assert counts_2016["compliance_status:Error - Correct Default Data"] == 87
    counts_2015 = cleaned[2015].reason_counts()
    assert counts_2015["default_data_used"] == 184
    assert counts_2015["invalid:property_gfa_buildings:greater_than_or_equal_to(0)"] == 2
    negative = cleaned[2015].rejected.query("rejection_reason.str.startswith('invalid:')")
    assert (negative[["property_gfa_parking", "property_gfa_buildings"]].min(axis=1) < 0).all()


def test_first_failing_rule_wins(cleaned: dict[int, CleaningResult], harmonised: dict[int, pd.DataFrame]) -> None:
    kept_ids = cleaned[2016].cleaned[BUILDING_ID].head(5)
    frame = harmonised[2016].set_index(BUILDING_ID).loc[kept_ids].reset_index()
    frame.loc[0, ["building_type", "site_energy_use_kbtu"]] = ["Multifamily LR (1-4)", 0.0]
    frame.loc[1, ["site_energy_use_kbtu", "compliance_status"]] = [0.0, "Non-Compliant"]
    frame.loc[2, "compliance_status"] = "Non-Compliant"
    frame.loc[3, "outlier"] = "high outlier"
    result = clean_buildings(frame, invalid_rows={2: "invalid:latitude:greater_than_or_equal_to(47.45)"})
    assert list(result.rejected[REJECTION_REASON]) == [
        "residential:building_type",
        "non_positive_target:site_energy_use_kbtu",
        "invalid:latitude:greater_than_or_equal_to(47.45)",
        "flagged_outlier:high outlier",
    ]
    assert list(result.cleaned[BUILDING_ID]) == [kept_ids.iloc[4]]


def test_missing_value_rules() -> None:
    frame = pd.DataFrame(
        {
            "default_data": pd.array([None, True, None], dtype="boolean"),
            "number_of_buildings": [None, 0.0, 2.0],
            "primary_property_type": pd.array(["Hotel", "Office", None], dtype="string"),
            "epa_property_type": pd.array([None, None, "Hotel"], dtype="string"),
            "property_gfa_total": [6000.0, 9000.0, 4000.0],
            "property_gfa_parking": [1000.0, None, 0.0],
            "property_gfa_buildings": [None, 8000.0, 4000.0],
            "largest_property_use_type": pd.array([None, "Office", None], dtype="string"),
            "largest_property_use_type_gfa": [None, 7000.0, None],
            "second_largest_property_use_type_gfa": [None, 1000.0, None],
            "third_largest_property_use_type_gfa": [None, None, None],
        }
    )
    out = fill_missing_values(frame)
    assert list(out["default_data"]) == [False, True, False]
    assert list(out["number_of_buildings"]) == [1.0, 1.0, 2.0]
    assert list(out["property_gfa_parking"]) == [1000.0, 0.0, 0.0]
    assert list(out["property_gfa_buildings"]) == [5000.0, 8000.0, 4000.0]  # total minus parking
    assert list(out["primary_property_type"]) == ["Hotel", "Office", "Hotel"]  # 2020 on: ENERGY STAR's type
    assert list(out["largest_property_use_type"]) == ["Hotel", "Office", "Hotel"]
    assert list(out["largest_property_use_type_gfa"]) == [5000.0, 7000.0, 4000.0]
    assert list(out["second_largest_property_use_type_gfa"]) == [0.0, 1000.0, 0.0]
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()
