"""The City's export layouts, declared as data: which columns each has, what they are called in the canonical
schema, which canonical columns it lacks and how those are derived, and the value spellings it introduced.

A layout is recognised from a file's header. Header names are compared *normalised* (lower case, letters and
digits only), because the City respells the same column between vintages (`OSEBuildingID`, `OSE Building ID`;
`NumberofFloors`, `Numberof Floors`) and the open-data API writes it lower case. Supporting a new vintage is a new
`Layout` here plus a test with a real file: no new code path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from energy_pipeline.core.columns import METERED_COLUMNS, canonical_name, normalised_name

# How a layout supplies a canonical column that it has no column for (see `harmonise.DERIVATIONS`).
Derivation = Literal[
    "missing",  # left missing; cleaning's documented rule for the column applies
    "from_location",  # 2015: unpacked from the dict-like `Location`
    "from_compliance_issue",  # 2018 on: `ComplianceIssue` says what `DefaultData` and `Outlier` said before
    "from_epa_property_type",  # 2020 on: cleaning falls back on the ENERGY STAR property type
]

# Canonical columns a file may lack without harm: descriptive text and metered quantities (not model inputs).
INFORMATIONAL: frozenset[str] = frozenset(
    {
        "property_name",
        "address",
        "city",
        "state",
        "tax_parcel_id",
        "comments",
        "list_of_all_property_use_types",
        "years_energy_star_certified",
        *METERED_COLUMNS,
    }
)


@dataclass(frozen=True)
class Layout:
    """One vintage of the City's export."""

    name: str
    header: tuple[str, ...]  # the columns as the City writes them, in the order of its file
    derived: Mapping[str, Derivation] = field(default_factory=dict)  # canonical column it lacks -> how supplied
    renamed: Mapping[str, str] = field(default_factory=dict)  # source name -> canonical, where the shared name differs
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # family -> spelling -> canonical value
    note: str = ""

    @property
    def columns(self) -> dict[str, str]:
        """Source column -> canonical column."""
        return {name: self.renamed.get(name, canonical_name(name)) for name in self.header}

    @property
    def lacks(self) -> tuple[str, ...]:
        return tuple(self.derived)

    @property
    def required(self) -> tuple[str, ...]:
        """The source columns a file must have to be read as this layout: all but the informational ones."""
        return tuple(name for name, canonical in self.columns.items() if canonical not in INFORMATIONAL)


_CITY_LIST_TO_ENERGY_STAR = {
    # 2015-2017 property types are the City's own list; from 2018 the City uses ENERGY STAR Portfolio Manager's.
    # Each maps onto the ENERGY STAR name for the same use (two office sizes are one ENERGY STAR type: the floor
    # area still tells them apart).
    "Large Office": "Office",
    "Small- and Mid-Sized Office": "Office",
    "Warehouse": "Non-Refrigerated Warehouse",
    "University": "College/University",
    "Residence Hall": "Residence Hall/Dormitory",
    "Supermarket / Grocery Store": "Supermarket/Grocery Store",
    "SPS-District K-12": "K-12 School",
    "Hospital": "Hospital (General Medical & Surgical)",
}
_OLDER_NEIGHBORHOODS = {"DELRIDGE NEIGHBORHOODS": "DELRIDGE"}
# ENERGY STAR renamed the use in 2020; the files before write the old name.
_SENIOR_CARE = {"Senior Care Community": "Senior Living Community"}
_COMPLIANCE = {"Non-Compliant": "Not Compliant"}  # 2016's spelling; every other year writes "Not Compliant"

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        name="2015",
        note="address and coordinates packed in `Location`; emissions as `GHGEmissions(MetricTonsCO2e)`",
        header=(
            "OSEBuildingID",
            "DataYear",
            "BuildingType",
            "PrimaryPropertyType",
            "PropertyName",
            "TaxParcelIdentificationNumber",
            "Location",
            "CouncilDistrictCode",
            "Neighborhood",
            "YearBuilt",
            "NumberofBuildings",
            "NumberofFloors",
            "PropertyGFATotal",
            "PropertyGFAParking",
            "PropertyGFABuilding(s)",
            "ListOfAllPropertyUseTypes",
            "LargestPropertyUseType",
            "LargestPropertyUseTypeGFA",
            "SecondLargestPropertyUseType",
            "SecondLargestPropertyUseTypeGFA",
            "ThirdLargestPropertyUseType",
            "ThirdLargestPropertyUseTypeGFA",
            "YearsENERGYSTARCertified",
            "ENERGYSTARScore",
            "SiteEUI(kBtu/sf)",
            "SiteEUIWN(kBtu/sf)",
            "SourceEUI(kBtu/sf)",
            "SourceEUIWN(kBtu/sf)",
            "SiteEnergyUse(kBtu)",
            "SiteEnergyUseWN(kBtu)",
            "SteamUse(kBtu)",
            "Electricity(kWh)",
            "Electricity(kBtu)",
            "NaturalGas(therms)",
            "NaturalGas(kBtu)",
            "OtherFuelUse(kBtu)",
            "GHGEmissions(MetricTonsCO2e)",
            "GHGEmissionsIntensity(kgCO2e/ft2)",
            "DefaultData",
            "Comment",
            "ComplianceStatus",
            "Outlier",
        ),
        derived={"zip_code": "from_location", "latitude": "from_location", "longitude": "from_location"},
        values={
            "property_type": {**_CITY_LIST_TO_ENERGY_STAR, **_SENIOR_CARE},
            "use_type": _SENIOR_CARE,
            "compliance_status": _COMPLIANCE,
        },
    ),
    Layout(
        name="2016-2017",
        note="2017 drops `Comments` and cuts many use types to 11 characters",
        header=(
            "OSEBuildingID",
            "DataYear",
            "BuildingType",
            "PrimaryPropertyType",
            "PropertyName",
            "Address",
            "City",
            "State",
            "ZipCode",
            "TaxParcelIdentificationNumber",
            "CouncilDistrictCode",
            "Neighborhood",
            "Latitude",
            "Longitude",
            "YearBuilt",
            "NumberofBuildings",
            "NumberofFloors",
            "PropertyGFATotal",
            "PropertyGFAParking",
            "PropertyGFABuilding(s)",
            "ListOfAllPropertyUseTypes",
            "LargestPropertyUseType",
            "LargestPropertyUseTypeGFA",
            "SecondLargestPropertyUseType",
            "SecondLargestPropertyUseTypeGFA",
            "ThirdLargestPropertyUseType",
            "ThirdLargestPropertyUseTypeGFA",
            "YearsENERGYSTARCertified",
            "ENERGYSTARScore",
            "SiteEUI(kBtu/sf)",
            "SiteEUIWN(kBtu/sf)",
            "SourceEUI(kBtu/sf)",
            "SourceEUIWN(kBtu/sf)",
            "SiteEnergyUse(kBtu)",
            "SiteEnergyUseWN(kBtu)",
            "SteamUse(kBtu)",
            "Electricity(kWh)",
            "Electricity(kBtu)",
            "NaturalGas(therms)",
            "NaturalGas(kBtu)",
            "DefaultData",
            "Comments",
            "ComplianceStatus",
            "Outlier",
            "TotalGHGEmissions",
            "GHGEmissionsIntensity",
        ),
        values={
            "property_type": {**_CITY_LIST_TO_ENERGY_STAR, **_SENIOR_CARE},
            "use_type": _SENIOR_CARE,
            "neighborhood": _OLDER_NEIGHBORHOODS,
            "compliance_status": _COMPLIANCE,
        },
    ),
    Layout(
        name="2018",
        note="readable header names; `ComplianceIssue` replaces `DefaultData` and `Outlier`; no building count",
        header=(
            "OSE Building ID",
            "Data Year",
            "Building Name",
            "Building Type",
            "Address",
            "City",
            "State",
            "Zip Code",
            "Latitude",
            "Longitude",
            "Neighborhood",
            "Council District Code",
            "Year Built",
            "Numberof Floors",
            "Property GFA Total",
            "PropertyGFABuilding(s)",
            "Property GFA Parking",
            "Primary Property Type",
            "ENERGYSTAR Score",
            "SiteEUIWN(kBtu/sf)",
            "SiteEUI(kBtu/sf)",
            "SiteEnergyUse(kBtu)",
            "SiteEnergyUseWN(kBtu)",
            "SourceEUIWN(kBtu/sf)",
            "SourceEUI(kBtu/sf)",
            "Largest Property Use Type",
            "Largest Property Use Type GFA",
            "Second Largest Property Use Type",
            "Second Largest Property Use Type GFA",
            "Third Largest Property Use Type",
            "Third Largest Property Use Type GFA",
            "Electricity(kWh)",
            "SteamUse(kBtu)",
            "NaturalGas(therms)",
            "EPA Building Sub Type Name",
            "Compliance Issue",
            "Compliance Status",
            "Electricity(kBtu)",
            "NaturalGas(kBtu)",
            "GHG Emissions Intensity",
            "Total Ghg Emissions",
        ),
        derived={
            "number_of_buildings": "missing",
            "default_data": "from_compliance_issue",
            "outlier": "from_compliance_issue",
        },
        renamed={"EPA Building Sub Type Name": "epa_property_type"},
        values={"property_type": _SENIOR_CARE, "use_type": _SENIOR_CARE, "neighborhood": _OLDER_NEIGHBORHOODS},
    ),
    Layout(
        name="2019",
        note="both property types: the City's `PrimaryPropertyType` and ENERGY STAR's `EPAPropertyType`",
        header=(
            "OSEBuildingID",
            "DataYear",
            "BuildingName",
            "BuildingType",
            "TaxParcelIdentificationNumber",
            "Address",
            "City",
            "State",
            "ZipCode",
            "Latitude",
            "Longitude",
            "Neighborhood",
            "CouncilDistrictCode",
            "YearBuilt",
            "NumberofFloors",
            "PropertyGFATotal",
            "PropertyGFABuilding(s)",
            "PropertyGFAParking",
            "PrimaryPropertyType",
            "ENERGYSTARScore",
            "SiteEUIWN(kBtu/sf)",
            "SiteEUI(kBtu/sf)",
            "SiteEnergyUse(kBtu)",
            "SiteEnergyUseWN(kBtu)",
            "SourceEUIWN(kBtu/sf)",
            "SourceEUI(kBtu/sf)",
            "LargestPropertyUseType",
            "LargestPropertyUseTypeGFA",
            "SecondLargestPropertyUseType",
            "SecondLargestPropertyUseTypeGFA",
            "ThirdLargestPropertyUseType",
            "ThirdLargestPropertyUseTypeGFA",
            "Electricity(kWh)",
            "SteamUse(kBtu)",
            "NaturalGas(therms)",
            "EPAPropertyType",
            "ComplianceStatus",
            "ComplianceIssue",
            "Electricity(kBtu)",
            "NaturalGas(kBtu)",
            "TotalGHGEmissions",
            "GHGEmissionsIntensity",
        ),
        derived={
            "number_of_buildings": "missing",
            "default_data": "from_compliance_issue",
            "outlier": "from_compliance_issue",
        },
        values={"property_type": _SENIOR_CARE, "use_type": _SENIOR_CARE, "neighborhood": _OLDER_NEIGHBORHOODS},
    ),
    Layout(
        name="2020-on",
        note="only ENERGY STAR's `EPAPropertyType`; the building count is back; 2021 writes 0 for missing",
        header=(
            "OSEBuildingID",
            "DataYear",
            "BuildingName",
            "BuildingType",
            "TaxParcelIdentificationNumber",
            "Address",
            "City",
            "State",
            "ZipCode",
            "Latitude",
            "Longitude",
            "Neighborhood",
            "CouncilDistrictCode",
            "YearBuilt",
            "NumberofFloors",
            "NumberofBuildings",
            "PropertyGFATotal",
            "PropertyGFABuilding(s)",
            "PropertyGFAParking",
            "ENERGYSTARScore",
            "SiteEUIWN(kBtu/sf)",
            "SiteEUI(kBtu/sf)",
            "SiteEnergyUse(kBtu)",
            "SiteEnergyUseWN(kBtu)",
            "SourceEUIWN(kBtu/sf)",
            "SourceEUI(kBtu/sf)",
            "EPAPropertyType",
            "LargestPropertyUseType",
            "LargestPropertyUseTypeGFA",
            "SecondLargestPropertyUseType",
            "SecondLargestPropertyUseTypeGFA",
            "ThirdLargestPropertyUseType",
            "ThirdLargestPropertyUseTypeGFA",
            "Electricity(kWh)",
            "SteamUse(kBtu)",
            "NaturalGas(therms)",
            "ComplianceStatus",
            "ComplianceIssue",
            "Electricity(kBtu)",
            "NaturalGas(kBtu)",
            "TotalGHGEmissions",
            "GHGEmissionsIntensity",
        ),
        derived={
            "primary_property_type": "from_epa_property_type",
            "default_data": "from_compliance_issue",
            "outlier": "from_compliance_issue",
        },
        values={
            "use_type": {
                "Repair Services (Vehicle, Shoe, Locksmith, etc.)": "Repair Services (Vehicle, Shoe, Locksmith, etc)"
            },
            "neighborhood": _OLDER_NEIGHBORHOODS,
        },
    ),
)


class LayoutError(ValueError):
    """The header matches no known layout; the message names the closest layout and what the file lacks."""


@dataclass(frozen=True)
class HeaderMatch:
    layout: Layout
    columns: dict[str, str]  # the file's own column name -> canonical name, for the columns the file has


def recognise(header: Iterable[str]) -> HeaderMatch:
    """The layout whose required columns the header has, the most of its declared columns present breaking ties
    (then the newer layout). A header no layout fits names what the closest layout would still need."""
    names = list(header)
    present = {normalised_name(name): name for name in names}
    fits: list[tuple[int, int, Layout]] = []
    for order, layout in enumerate(LAYOUTS):
        if all(normalised_name(column) in present for column in layout.required):
            overlap = sum(normalised_name(column) in present for column in layout.header)
            fits.append((overlap, order, layout))
    if not fits:
        raise LayoutError(_no_layout_message(present))
    layout = max(fits, key=lambda fit: fit[:2])[2]
    by_key = {normalised_name(source): canonical for source, canonical in layout.columns.items()}
    columns = {present[key]: canonical for key, canonical in by_key.items() if key in present}
    return HeaderMatch(layout, columns)


def _no_layout_message(present: Mapping[str, str]) -> str:
    def lacking(layout: Layout) -> list[str]:
        return [column for column in layout.required if normalised_name(column) not in present]

    closest = min(LAYOUTS, key=lambda layout: len(lacking(layout)))
    missing = lacking(closest)
    return (
        f"the header matches no known export layout: the closest, layout {closest.name!r}, needs "
        f"{len(missing)} column(s) it lacks: {', '.join(missing)}"
    )


def _merged_values() -> Mapping[str, Mapping[str, str]]:
    """Every layout's spellings in one table (a request has no layout); two layouts never disagree on one."""
    merged: dict[str, dict[str, str]] = {}
    for layout in LAYOUTS:
        for column, spellings in layout.values.items():
            table = merged.setdefault(column, {})
            for spelling, value in spellings.items():
                if table.setdefault(spelling, value) != value:
                    raise ValueError(f"layouts disagree on {column} {spelling!r}: {table[spelling]!r} or {value!r}")
    return MappingProxyType({column: MappingProxyType(table) for column, table in merged.items()})


VALUE_SPELLINGS = _merged_values()
