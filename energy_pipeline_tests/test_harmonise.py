"""Every year lands on one canonical schema with the same categories and parsed 2015 locations."""

from __future__ import annotations

import pandas as pd

from energy_pipeline.core.columns import REQUIRED_RAW_COLUMNS, TARGET_GHG, to_snake_case
from energy_pipeline.data.categories import USE_TYPES
from energy_pipeline.data.harmonise import harmonise
from energy_pipeline.data.ingest import read_benchmarking_csv
from energy_pipeline_tests.conftest import export_path


def test_every_year_has_every_canonical_column_with_the_same_types(
    harmonised: dict[int, pd.DataFrame],
) -> None:
    types = {}
    for year, frame in harmonised.items():
        assert set(REQUIRED_RAW_COLUMNS) <= set(frame.columns), year
        types[year] = frame[list(REQUIRED_RAW_COLUMNS)].dtypes.map(str).to_dict()
    assert all(t == types[2016] for t in types.values()), types


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
    # 2015-2017 write the City's property types, 2018 on ENERGY STAR's: all land on ENERGY STAR's names
    types = {year: set(frame["primary_property_type"].dropna()) for year, frame in harmonised.items()}
    assert types[2015] == types[2016] - {"Laboratory"} | {"Laboratory"}  # the same names in both years
    city_list = {"Large Office", "Small- and Mid-Sized Office", "Warehouse", "University", "Residence Hall"}
    assert not city_list & set().union(*types.values())
    assert {"Office", "Non-Refrigerated Warehouse", "College/University"} <= types[2015] & types[2019]
    assert all(set(harmonised[year]["city"].dropna()) <= {"SEATTLE", "SEATTLEW", "0"} for year in (2015, 2016, 2018))
    neighborhoods = {year: set(frame["neighborhood"].dropna()) for year, frame in harmonised.items()}
    for year, names in neighborhoods.items():
        assert all(name == name.upper() and "&" not in name and "SHARED" not in name for name in names), year
        assert names <= neighborhoods[2015] | {"WATER"}, (year, names - neighborhoods[2015])
    assert not harmonised[2015]["primary_property_type"].str.contains("\n").any()
    assert set(harmonised[2015]["outlier"].dropna()) == {"high outlier", "low outlier"}
    assert set(harmonised[2016]["compliance_status"]) == {
        "Compliant",
        "Not Compliant",
        "Error - Correct Default Data",
        "Missing Data",
    }


def test_2017_use_types_cut_to_11_characters_get_their_full_names(harmonised: dict[int, pd.DataFrame]) -> None:
    raw = read_benchmarking_csv(export_path(2017))
    cut = raw["LargestPropertyUseType"].str.len() == 11
    assert cut.sum() > 500 and "Non-Refrige" in set(raw["LargestPropertyUseType"])
    uses = harmonised[2017]["largest_property_use_type"]
    assert (uses[cut.to_numpy()].str.len() > 11).mean() > 0.6  # most 11-character values were cut names
    assert set(uses.dropna()) <= set(USE_TYPES) | {"Multifamily Housing"}, set(uses.dropna()) - set(USE_TYPES)
    assert (uses == "Non-Refrigerated Warehouse").sum() >= 174


def test_unknown_columns_are_kept_with_snake_case_names(harmonised: dict[int, pd.DataFrame]) -> None:
    extras = {"col_2010_census_tracts", "spd_beats", "city_council_districts", "other_fuel_use_kbtu"}
    assert extras <= set(harmonised[2015].columns)
    assert to_snake_case("Seattle Police Department Beats") == "seattle_police_department_beats"
    assert to_snake_case("SiteEUIWN(kBtu/sf)") == "site_euiwn_k_btu_sf"


def test_booleans_from_yes_no_true_false_and_y_n(harmonised: dict[int, pd.DataFrame]) -> None:
    for frame in harmonised.values():
        assert str(frame["default_data"].dtype) == "boolean"
    assert int(harmonised[2015]["default_data"].sum()) == 548
    assert int(harmonised[2016]["default_data"].sum()) == 113
    assert int(harmonised[2017]["default_data"].sum()) == 227  # written Y/N


def test_a_non_numeric_value_is_left_as_text_for_the_schema_to_name() -> None:
    source = pd.read_csv(export_path(2016), dtype=str, keep_default_na=False).head(3)
    source.loc[1, "PropertyGFATotal"] = "twelve thousand"
    frame = harmonise(read_benchmarking_csv(source.to_csv(index=False).encode()))
    assert not pd.api.types.is_numeric_dtype(frame["property_gfa_total"])
    assert frame["property_gfa_total"].iloc[1] == "twelve thousand"
    assert frame["ose_building_id"].dtype == "Int64" and frame["year_built"].dtype == "Int64"
