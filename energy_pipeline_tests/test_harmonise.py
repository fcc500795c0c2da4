"""Both years land on one canonical schema with the same categories and parsed 2015 locations."""

from __future__ import annotations

import pandas as pd

from energy_pipeline.domain.columns import REQUIRED_RAW_COLUMNS, TARGET_GHG, to_snake_case
from energy_pipeline.domain.harmonise import harmonise
from energy_pipeline.domain.ingest import read_benchmarking_csv


def test_both_years_have_every_canonical_column_with_the_same_types(
    harmonised: dict[int, pd.DataFrame],
) -> None:
    for frame in harmonised.values():
        assert set(REQUIRED_RAW_COLUMNS) <= set(frame.columns)
    types_2015 = harmonised[2015][list(REQUIRED_RAW_COLUMNS)].dtypes.map(str)
    types_2016 = harmonised[2016][list(REQUIRED_RAW_COLUMNS)].dtypes.map(str)
    assert types_2015.to_dict() == types_2016.to_dict()


def test_2015_location_is_unpacked_and_agrees_with_2016(harmonised: dict[int, pd.DataFrame]) -> None:
    cols = ["ose_building_id", "latitude", "longitude", "zip_code", "address"]
    both = harmonised[2015][cols].merge(harmonised[2016][cols], on="ose_building_id", suffixes=("_15", "_16"))
    assert len(both) > 3000
    assert "location" not in harmonised[2015].columns
    # The same building is at (nearly) the same place in both years: median offset well under 50 m.
    assert (both["latitude_15"] - both["latitude_16"]).abs().median() < 5e-4
    assert (both["longitude_15"] - both["longitude_16"]).abs().median() < 5e-4
    assert (both["zip_code_15"] == both["zip_code_16"]).mean() > 0.9  # the portal corrected a few zips
    first = harmonised[2015].iloc[0]
    assert (first["address"], first["zip_code"]) == ("405 OLIVE WAY", "98101")
    assert abs(first["latitude"] - 47.61219025) < 1e-9


def test_2015_names_map_to_2016_names(harmonised: dict[int, pd.DataFrame]) -> None:
    frame = harmonised[2015]
    assert TARGET_GHG in frame.columns
    assert not [c for c in frame.columns if "metric" in c]
    assert frame[TARGET_GHG].iloc[0] == 249.43  # GHGEmissions(MetricTonsCO2e) of building 1 in 2015
    assert "comments" in frame.columns and "comment" not in frame.columns


def test_categories_use_one_spelling_across_years(harmonised: dict[int, pd.DataFrame]) -> None:
    types_2015 = set(harmonised[2015]["primary_property_type"])
    types_2016 = set(harmonised[2016]["primary_property_type"])
    assert types_2015 ^ types_2016 == {"Office"}  # 2016 alone has 3 buildings typed plain "Office"
    assert set(harmonised[2015]["city"]) == set(harmonised[2016]["city"]) == {"SEATTLE"}
    assert "DELRIDGE NEIGHBORHOODS" not in set(harmonised[2016]["neighborhood"])
    assert set(harmonised[2016]["neighborhood"]) == set(harmonised[2015]["neighborhood"])
    assert not harmonised[2015]["primary_property_type"].str.contains("\n").any()
    assert "Supermarket / Grocery Store" not in set(harmonised[2016]["primary_property_type"])
    assert set(harmonised[2015]["outlier"].dropna()) == {"high outlier", "low outlier"}
    assert set(harmonised[2015]["compliance_status"]) == {"Compliant", "Non-Compliant"}


def test_unknown_columns_are_kept_with_snake_case_names(harmonised: dict[int, pd.DataFrame]) -> None:
    extras = {"col_2010_census_tracts", "spd_beats", "city_council_districts", "other_fuel_use_kbtu"}
    assert extras <= set(harmonised[2015].columns)
    assert to_snake_case("Seattle Police Department Beats") == "seattle_police_department_beats"
    assert to_snake_case("SiteEUIWN(kBtu/sf)") == "site_euiwn_k_btu_sf"


def test_booleans_from_yes_no_and_true_false(harmonised: dict[int, pd.DataFrame]) -> None:
    for frame in harmonised.values():
        assert str(frame["default_data"].dtype) == "boolean"
    assert int(harmonised[2015]["default_data"].sum()) == 548
    assert int(harmonised[2016]["default_data"].sum()) == 113


def test_a_non_numeric_value_is_left_as_text_for_the_schema_to_name() -> None:
    content = b"OSEBuildingID,DataYear,PropertyGFATotal\n1,2016,12000\n2,2016,twelve thousand\n"
    frame = harmonise(read_benchmarking_csv(content))
    assert not pd.api.types.is_numeric_dtype(frame["property_gfa_total"])
    assert frame["property_gfa_total"].iloc[1] == "twelve thousand"
    assert frame["ose_building_id"].dtype == "int64"
