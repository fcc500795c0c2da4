"""The canonical vocabulary of the buildings table, shared by cleaning, validation, models and serving."""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILDING_ID = "ose_building_id"
DATA_YEAR = "data_year"

TARGET_ENERGY = "site_energy_use_kbtu"
TARGET_GHG = "total_ghg_emissions"
TARGETS: tuple[str, ...] = (TARGET_ENERGY, TARGET_GHG)

# Portal column name -> canonical snake_case name. Every year's spelling maps to the same name, which is how
# 2015's `GHGEmissions(MetricTonsCO2e)` and `Comment` land on 2016's names. Names are compared normalised
# (`normalised_name`), so 2018's `OSE Building ID` and `Numberof Floors` need no entry of their own.
CANONICAL_NAMES: dict[str, str] = {
    "OSEBuildingID": BUILDING_ID,
    "DataYear": DATA_YEAR,
    "BuildingType": "building_type",
    "PrimaryPropertyType": "primary_property_type",
    "PropertyName": "property_name",
    "BuildingName": "property_name",
    "Address": "address",
    "City": "city",
    "State": "state",
    "ZipCode": "zip_code",
    "TaxParcelIdentificationNumber": "tax_parcel_id",
    "CouncilDistrictCode": "council_district_code",
    "Neighborhood": "neighborhood",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "YearBuilt": "year_built",
    "NumberofBuildings": "number_of_buildings",
    "NumberofFloors": "number_of_floors",
    "PropertyGFATotal": "property_gfa_total",
    "PropertyGFAParking": "property_gfa_parking",
    "PropertyGFABuilding(s)": "property_gfa_buildings",
    "ListOfAllPropertyUseTypes": "list_of_all_property_use_types",
    "LargestPropertyUseType": "largest_property_use_type",
    "LargestPropertyUseTypeGFA": "largest_property_use_type_gfa",
    "SecondLargestPropertyUseType": "second_largest_property_use_type",
    "SecondLargestPropertyUseTypeGFA": "second_largest_property_use_type_gfa",
    "ThirdLargestPropertyUseType": "third_largest_property_use_type",
    "ThirdLargestPropertyUseTypeGFA": "third_largest_property_use_type_gfa",
    "YearsENERGYSTARCertified": "years_energy_star_certified",
    "ENERGYSTARScore": "energy_star_score",
    "SiteEUI(kBtu/sf)": "site_eui_kbtu_sf",
    "SiteEUIWN(kBtu/sf)": "site_eui_wn_kbtu_sf",
    "SourceEUI(kBtu/sf)": "source_eui_kbtu_sf",
    "SourceEUIWN(kBtu/sf)": "source_eui_wn_kbtu_sf",
    "SiteEnergyUse(kBtu)": TARGET_ENERGY,
    "SiteEnergyUseWN(kBtu)": "site_energy_use_wn_kbtu",
    "SteamUse(kBtu)": "steam_use_kbtu",
    "Electricity(kWh)": "electricity_kwh",
    "Electricity(kBtu)": "electricity_kbtu",
    "NaturalGas(therms)": "natural_gas_therms",
    "NaturalGas(kBtu)": "natural_gas_kbtu",
    "OtherFuelUse(kBtu)": "other_fuel_use_kbtu",
    "DefaultData": "default_data",
    "Comments": "comments",
    "Comment": "comments",
    "ComplianceStatus": "compliance_status",
    "ComplianceIssue": "compliance_issue",
    "EPAPropertyType": "epa_property_type",
    "Outlier": "outlier",
    "TotalGHGEmissions": TARGET_GHG,
    "GHGEmissions(MetricTonsCO2e)": TARGET_GHG,
    "GHGEmissionsIntensity": "ghg_emissions_intensity",
    "GHGEmissionsIntensity(kgCO2e/ft2)": "ghg_emissions_intensity",
}

# Measured only once a building is metered: never a model input (leakage), kept only in the raw table.
METERED_COLUMNS: tuple[str, ...] = (
    "site_eui_kbtu_sf",
    "site_eui_wn_kbtu_sf",
    "source_eui_kbtu_sf",
    "source_eui_wn_kbtu_sf",
    "site_energy_use_wn_kbtu",
    "steam_use_kbtu",
    "electricity_kwh",
    "electricity_kbtu",
    "natural_gas_therms",
    "natural_gas_kbtu",
    "other_fuel_use_kbtu",
    "ghg_emissions_intensity",
)

FLOOR_AREA_COLUMNS: tuple[str, ...] = (
    "property_gfa_total",
    "property_gfa_parking",
    "property_gfa_buildings",
    "largest_property_use_type_gfa",
    "second_largest_property_use_type_gfa",
    "third_largest_property_use_type_gfa",
)

INTEGER_COLUMNS: tuple[str, ...] = (
    BUILDING_ID,
    DATA_YEAR,
    "council_district_code",
    "year_built",
)

FLOAT_COLUMNS: tuple[str, ...] = (
    "latitude",
    "longitude",
    "number_of_buildings",
    "number_of_floors",
    *FLOOR_AREA_COLUMNS,
    "energy_star_score",
    TARGET_ENERGY,
    TARGET_GHG,
    *METERED_COLUMNS,
)

# Columns every harmonised year must have; anything else the portal adds is kept as an extra column.
REQUIRED_RAW_COLUMNS: tuple[str, ...] = (
    BUILDING_ID,
    DATA_YEAR,
    "building_type",
    "primary_property_type",
    "zip_code",
    "council_district_code",
    "neighborhood",
    "latitude",
    "longitude",
    "year_built",
    "number_of_buildings",
    "number_of_floors",
    *FLOOR_AREA_COLUMNS,
    "largest_property_use_type",
    "second_largest_property_use_type",
    "third_largest_property_use_type",
    "energy_star_score",
    TARGET_ENERGY,
    TARGET_GHG,
    "default_data",
    "compliance_status",
    "outlier",
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def to_snake_case(name: str) -> str:
    """Name an unknown portal column so it can sit beside the canonical ones without quoting."""
    spaced = _CAMEL_BOUNDARY.sub("_", name.strip())
    snake = _NON_WORD.sub("_", spaced).strip("_").lower()
    if snake and snake[0].isdigit():
        snake = f"col_{snake}"
    return snake or "unnamed"


def normalised_name(name: str) -> str:
    """`OSE Building ID`, `OSEBuildingID` and the open-data API's `osebuildingid` are one column."""
    return _NOT_ALPHANUMERIC.sub("", name.lower())


_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]")
_BY_NORMALISED_NAME = {normalised_name(name): canonical for name, canonical in CANONICAL_NAMES.items()}


def canonical_name(name: str) -> str:
    return _BY_NORMALISED_NAME.get(normalised_name(name), to_snake_case(name))


DEFAULT_MODEL_PREFIX = "energy-pipeline"


def registered_model_name(target_key: str, prefix: str = DEFAULT_MODEL_PREFIX) -> str:
    """The MLflow registered model of a target: `<prefix>-<target key with dashes>`."""
    return f"{prefix}-{target_key.replace('_', '-')}"


@dataclass(frozen=True)
class TargetSpec:
    """One predicted quantity: its asset/registry key, its column and its unit."""

    key: str
    column: str
    label: str
    unit: str


TARGET_SPECS: tuple[TargetSpec, ...] = (
    SITE_ENERGY := TargetSpec("site_energy", TARGET_ENERGY, "site energy use", "kBtu"),
    GHG_EMISSIONS := TargetSpec("ghg_emissions", TARGET_GHG, "GHG emissions", "t CO2e"),
)
