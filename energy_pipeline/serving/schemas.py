"""The HTTP contract: what a client sends about a building, and what it gets back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from energy_pipeline.core.limits import LATITUDE_RANGE, LONGITUDE_RANGE, MAX_FLOOR_AREA_SQFT, YEAR_BUILT_MIN

MAX_BATCH = 10_000
CURRENT_YEAR = dt.date.today().year
Area = Annotated[float, Field(gt=0, le=MAX_FLOOR_AREA_SQFT)]
OptionalArea = Annotated[float, Field(ge=0, le=MAX_FLOOR_AREA_SQFT)]

EXAMPLE_BUILDING: dict[str, Any] = {
    "primary_property_type": "Hotel",
    "building_type": "NonResidential",
    "largest_property_use_type": "Hotel",
    "largest_property_use_type_gfa": 88434,
    "property_gfa_total": 88434,
    "property_gfa_parking": 0,
    "year_built": 1927,
    "number_of_buildings": 1,
    "number_of_floors": 12,
    "neighborhood": "DOWNTOWN",
    "latitude": 47.6122,
    "longitude": -122.33799,
    "zip_code": "98101",
}


class Building(BaseModel):
    """A building as the City's exports describe it, known before it is metered. Areas in square feet (sq ft).

    Category values may be written as any export year writes them (`Warehouse` or `Non-Refrigerated Warehouse`,
    `Ballard` or `BALLARD`, a use type cut to 11 characters); they are harmonised by the code that harmonises an
    export for training, then must be a value the served models were trained on (`GET /v1/model_info` lists them).
    A 0 where no building has 0 (year built aside: coordinates, areas, floors, ENERGY STAR score) means unknown,
    as in the 2021 export; missing values follow the cleaning rules (`number_of_buildings` 0 -> 1, ...)."""

    # OpenAPI 3.0 `example` (BentoML's schema model has no `examples`): Swagger pre-fills its request with it.
    # strict: JSON true/false or "12" is not a number of floors
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": EXAMPLE_BUILDING})

    primary_property_type: str | None = Field(
        default=None, description="The City's property type (2015-2019); one of the three property fields is needed"
    )
    epa_property_type: str | None = Field(
        default=None,
        description="ENERGY STAR's property type (`EPAPropertyType`, 2019 on): used when the City's is absent",
    )
    building_type: str = Field(default="NonResidential", description="The portal's building class")
    largest_property_use_type: str | None = Field(
        default=None, description="Use type with the largest floor area (default: the property type)"
    )
    largest_property_use_type_gfa: OptionalArea | None = Field(
        default=None, description="Floor area of the largest use, sq ft (default: the buildings' floor area)"
    )
    second_largest_property_use_type: str | None = Field(default=None, description="Second use, if any")
    second_largest_property_use_type_gfa: OptionalArea | None = Field(default=None, description="sq ft")
    third_largest_property_use_type: str | None = Field(default=None, description="Third use, if any")
    third_largest_property_use_type_gfa: OptionalArea | None = Field(default=None, description="sq ft")
    property_gfa_total: Area = Field(description="Total gross floor area including parking, sq ft")
    property_gfa_parking: OptionalArea = Field(default=0.0, description="Parking floor area, sq ft")
    property_gfa_buildings: OptionalArea | None = Field(
        default=None, description="Floor area of the buildings, sq ft (default: total minus parking)"
    )
    year_built: int = Field(ge=YEAR_BUILT_MIN, le=CURRENT_YEAR, description=f"{YEAR_BUILT_MIN}..{CURRENT_YEAR}")
    number_of_buildings: int | None = Field(default=1, ge=0, le=500, description="0 or absent: 1")
    number_of_floors: int | None = Field(default=None, ge=0, le=200, description="0 or absent: unknown")
    neighborhood: str | None = Field(default=None, description="Seattle neighbourhood (the portal's districts)")
    council_district_code: int | None = Field(
        default=None, ge=0, le=7, description="Accepted as the exports write it, not used: its meaning changed in 2018"
    )
    latitude: float | None = Field(
        default=None, description=f"degrees, {LATITUDE_RANGE[0]}..{LATITUDE_RANGE[1]} (Seattle); 0 or absent: unknown"
    )
    longitude: float | None = Field(
        default=None,
        description=f"degrees, {LONGITUDE_RANGE[0]}..{LONGITUDE_RANGE[1]} (Seattle); 0 or absent: unknown",
    )
    zip_code: str | None = Field(default=None, pattern=r"^(\d{5}|0)$", description="optional, 5 digits")
    energy_star_score: float | None = Field(
        default=None, ge=0, le=100, description="optional; 0 is unknown; the current models do not use it"
    )
    data_year: int | None = Field(
        default=None,
        ge=2000,
        le=CURRENT_YEAR + 1,
        description="Reporting year to predict for (default: the latest year the models were trained on)",
    )

    @field_validator("latitude", "longitude")
    @classmethod
    def in_seattle(cls, value: float | None, info: ValidationInfo) -> float | None:
        low, high = LATITUDE_RANGE if info.field_name == "latitude" else LONGITUDE_RANGE
        if value is None or value == 0 or low <= value <= high:
            return value
        raise ValueError(f"{info.field_name} must be within {low}..{high} (Seattle), or 0 for unknown")


class Estimate(BaseModel):
    prediction: float = Field(description="Point prediction in the stated unit")
    lower_80: float = Field(
        description="Lower bound of the 80% prediction interval (split-conformal, per property type)"
    )
    upper_80: float = Field(
        description="Upper bound of the 80% prediction interval (split-conformal, per property type)"
    )


class Prediction(BaseModel):
    site_energy_use_kbtu: Estimate = Field(description="Yearly site energy use, kBtu")
    total_ghg_emissions_t_co2e: Estimate = Field(description="Yearly GHG emissions, metric tons CO2e")
    model_versions: dict[str, str] = Field(description="Registered model -> version that produced this")


class ModelCard(BaseModel):
    registered_model: str
    version: str
    run_id: str = Field(default="", description="The MLflow run that logged the model")
    winner: str
    unit: str
    data_years: list[str]
    holdout_metrics: dict[str, float]
    cv_metrics: dict[str, float]
    interval_log_halfwidth: float = Field(
        description="Half-width of the 80% interval on the log1p scale for a property type without its own"
    )
    interval_log_halfwidths: dict[str, float] = Field(
        default_factory=dict,
        description="Per primary property type, its own half-width (conformal, calibrated on that type's held-out "
        "buildings)",
    )
    interval_coverage: float
    scoring: str = Field(default="", description="How requests are scored: the compiled model family, or why not")
    input_categories: dict[str, list[str]] = Field(
        default_factory=dict, description="Per category field, the harmonised values the model was trained on"
    )


class ModelInfo(BaseModel):
    models: dict[str, ModelCard]
    input_schema: dict[str, Any]
    accepted_categories: dict[str, list[str]] = Field(
        default_factory=dict, description="Per category field, the values a request may use (after harmonising)"
    )
    max_batch_size: int = MAX_BATCH
