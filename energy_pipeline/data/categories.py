"""One category value's canonical spelling, for every export's rows (harmonise) and every request (serving).

The rules, in order: HTML entities decoded (`SHARED: X &amp; Y`), white space folded, the missing markers
(`NA`, `NULL`, empty) as missing; then per family of columns: the case it is written in, its patterns, the
spellings the layouts declare (`layouts.VALUE_SPELLINGS`), and its vocabulary: a known name in any case gets the
vocabulary's spelling, and a value cut to `CUT_WIDTH` characters (2017 cuts use types: `Non-Refrige`) gets the full
name when exactly one name starts so; when several do, the value cannot be mapped (`UnmappedValue`). Any other
value is kept as written: a use type new to ENERGY STAR's list is a real category, not an error.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import cache
from typing import Literal

from energy_pipeline.data.layouts import VALUE_SPELLINGS

Family = Literal["property_type", "use_type", "building_type", "neighborhood", "compliance_status", "text"]
FAMILIES: Mapping[str, Family] = {
    "primary_property_type": "property_type",
    "epa_property_type": "property_type",
    "largest_property_use_type": "use_type",
    "second_largest_property_use_type": "use_type",
    "third_largest_property_use_type": "use_type",
    "building_type": "building_type",
    "neighborhood": "neighborhood",
    "compliance_status": "compliance_status",
    "city": "text",
    "outlier": "text",
    "compliance_issue": "text",
}
CATEGORY_COLUMNS: tuple[str, ...] = tuple(FAMILIES)
MISSING_MARKERS = frozenset({"", "na", "n/a", "#n/a", "null", "none", "nan"})
CUT_WIDTH = 11
_CASE: Mapping[str, Literal["upper", "lower"]] = {"neighborhood": "upper", "city": "upper", "outlier": "lower"}
_PATTERNS: Mapping[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    # 2018 on, a building on the line between two districts is `SHARED: X & Y`; earlier exports put it in one of
    # them, mostly the first named (71 of 82 such buildings of 2018 were in X in 2017, 11 in Y): X, as one
    # category across years; the coordinates still place it exactly.
    "neighborhood": ((re.compile(r"^SHARED: (.+?) & .+$"), r"\1"),),
}

# ENERGY STAR Portfolio Manager's property use types as the City's exports write them (2015-2021), under their
# current names. A name missing here is still kept; this list only fixes case and completes cut values.
USE_TYPES: tuple[str, ...] = (
    "Adult Education", "Automobile Dealership", "Bank Branch", "Bar/Nightclub", "Barracks", "College/University",
    "Convenience Store with Gas Station", "Convenience Store without Gas Station", "Convention Center",
    "Courthouse", "Data Center", "Distribution Center", "Enclosed Mall", "Energy/Power Station",
    "Fast Food Restaurant", "Financial Office", "Fire Station", "Fitness Center/Health Club/Gym", "Food Sales",
    "Food Service", "Hospital (General Medical & Surgical)", "Hotel", "Ice/Curling Rink", "K-12 School",
    "Laboratory", "Library", "Lifestyle Center", "Mailing Center/Post Office", "Manufacturing/Industrial Plant",
    "Medical Office", "Mixed Use Property", "Movie Theater", "Multifamily Housing", "Museum",
    "Non-Refrigerated Warehouse", "Office", "Other", "Other - Education", "Other - Entertainment/Public Assembly",
    "Other - Lodging/Residential", "Other - Mall", "Other - Public Services", "Other - Recreation",
    "Other - Restaurant/Bar", "Other - Services", "Other - Specialty Hospital", "Other - Technology/Science",
    "Other - Utility", "Other/Specialty Hospital", "Outpatient Rehabilitation/Physical Therapy", "Parking",
    "Performing Arts", "Personal Services (Health/Beauty, Dry Cleaning, etc)", "Police Station",
    "Pre-school/Daycare", "Prison/Incarceration", "Race Track", "Refrigerated Warehouse",
    "Repair Services (Vehicle, Shoe, Locksmith, etc)", "Residence Hall/Dormitory", "Residential Care Facility",
    "Restaurant", "Retail Store", "Roller Rink", "Self-Storage Facility", "Senior Living Community",
    "Single Family Home", "Social/Meeting Hall", "Stadium (Closed)", "Stadium (Open)", "Strip Mall",
    "Supermarket/Grocery Store", "Swimming Pool", "Transportation Terminal/Station",
    "Urgent Care/Clinic/Other Outpatient", "Veterinary Office", "Vocational School", "Wastewater Treatment Plant",
    "Wholesale Club/Supercenter", "Worship Facility", "Zoo",
)  # fmt: skip
# A property's type is one of the use types, or one of the City's residential classes.
RESIDENTIAL_PROPERTY_TYPES: tuple[str, ...] = (
    "Multifamily LR (1-4)", "Multifamily MR (5-9)", "Multifamily HR (10+)",
    "Low-Rise Multifamily", "Mid-Rise Multifamily", "High-Rise Multifamily",
)  # fmt: skip
BUILDING_TYPES: tuple[str, ...] = (
    "NonResidential", "Nonresidential COS", "Nonresidential WA", "SPS-District K-12", "Campus",
    "Multifamily LR (1-4)", "Multifamily MR (5-9)", "Multifamily HR (10+)",
)  # fmt: skip
_VOCABULARIES: Mapping[Family, tuple[str, ...]] = {
    "use_type": USE_TYPES,
    "property_type": USE_TYPES + RESIDENTIAL_PROPERTY_TYPES,
    "building_type": BUILDING_TYPES,
    "compliance_status": ("Compliant", "Not Compliant", "Error - Correct Default Data", "Missing Data"),
}


class UnmappedValue(ValueError):
    """A value that has no single canonical meaning; the message says why."""

    def __init__(self, column: str, value: str, reason: str) -> None:
        super().__init__(f"{column}: {value!r} {reason}")
        self.column, self.value, self.reason = column, value, reason


def canonical_category(column: str, value: object) -> str | None:
    """The canonical spelling of `value` in `column`, None when it is missing; raises `UnmappedValue`."""
    if value is None or value != value:  # None, NaN, pd.NA compare unequal to themselves (NA: raises)
        return None
    return _canonical(column, str(value))


@cache
def _canonical(column: str, value: str) -> str | None:
    text = " ".join(html.unescape(value).split())
    if text.lower() in MISSING_MARKERS:
        return None
    family = FAMILIES.get(column, "text")
    case = _CASE.get(column)
    text = text.upper() if case == "upper" else text.lower() if case == "lower" else text
    for pattern, replacement in _PATTERNS.get(column, ()):
        text = pattern.sub(replacement, text)
    exact, cut = _lookups(family)
    known = exact.get(text.lower())
    if known is not None:
        return known
    fits = cut.get(text.lower(), ())
    if len(fits) > 1:
        raise UnmappedValue(column, text, f"is cut to {CUT_WIDTH} characters and fits {len(fits)}: {', '.join(fits)}")
    return fits[0] if fits else text


@cache
def _lookups(family: Family) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Lower-cased name -> canonical name, for the vocabulary's names and the layouts' older spellings; and a name
    cut to CUT_WIDTH -> the canonical names it may stand for."""
    names = {name: name for name in _VOCABULARIES.get(family, ())}
    names.update(VALUE_SPELLINGS.get(family, {}))
    exact = {name.lower(): canonical for name, canonical in names.items()}
    cut: dict[str, tuple[str, ...]] = {}
    if family in _VOCABULARIES:
        for name, canonical in names.items():
            key = name[:CUT_WIDTH].rstrip().lower()
            if len(name) > CUT_WIDTH and key not in exact and canonical not in cut.get(key, ()):
                cut[key] = (*cut.get(key, ()), canonical)
    return exact, cut
