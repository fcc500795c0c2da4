"""The HTTP contract: what a client sends about a building, and what it gets back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from energy_pipeline.domain.limits import LATITUDE_RANGE, LONGITUDE_RANGE, MAX_FLOOR_AREA_SQFT, YEAR_BUILT_MIN
from energy_pipeline.domain.vocabulary import BuildingType, Neighborhood, PrimaryPropertyType, UseType

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
    "council_district_code": 7,
    "latitude": 47.6122,
    "longitude": -122.33799,
    "zip_code": "98101",
}


class Building(BaseModel):
    """A building as known before it is metered. Areas in square feet (sq ft). Rules across fields: parking plus
    buildings must not exceed the total (1% tolerance), and a second or third use comes with its area."""

    # OpenAPI 3.0 `example` (BentoML's schema model has no `examples`): Swagger pre-fills its request with it.
    # strict: JSON true/false or "12" is not a number of floors; cross-field rules are in the validator below
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": EXAMPLE_BUILDING})

    primary_property_type: PrimaryPropertyType = Field(description="The portal's primary property type")
    building_type: BuildingType = Field(default="NonResidential", description="The portal's building class")
    largest_property_use_type: UseType = Field(description="Use type with the largest floor area")
    largest_property_use_type_gfa: Area = Field(description="Floor area of the largest use, sq ft")
    second_largest_property_use_type: UseType | None = Field(default=None, description="Second use, if any")
    second_largest_property_use_type_gfa: OptionalArea | None = Field(default=None, description="sq ft")
    third_largest_property_use_type: UseType | None = Field(default=None, description="Third use, if any")
    third_largest_property_use_type_gfa: OptionalArea | None = Field(default=None, description="sq ft")
    property_gfa_total: Area = Field(description="Total gross floor area including parking, sq ft")
    property_gfa_parking: OptionalArea = Field(default=0.0, description="Parking floor area, sq ft")
    property_gfa_buildings: Area | None = Field(
        default=None, description="Floor area of the buildings, sq ft (default: total minus parking)"
    )
    year_built: int = Field(ge=YEAR_BUILT_MIN, le=CURRENT_YEAR, description=f"{YEAR_BUILT_MIN}..{CURRENT_YEAR}")
    number_of_buildings: int = Field(default=1, ge=1, le=500)
    number_of_floors: int | None = Field(default=None, ge=0, le=200, description="0 or absent: unknown")
    neighborhood: Neighborhood = Field(description="Seattle neighbourhood (the portal's districts)")
    council_district_code: int = Field(ge=1, le=7, description="Seattle City Council district, 1..7")
    latitude: float = Field(ge=LATITUDE_RANGE[0], le=LATITUDE_RANGE[1], description="degrees, Seattle's area")
    longitude: float = Field(ge=LONGITUDE_RANGE[0], le=LONGITUDE_RANGE[1], description="degrees, Seattle's area")
    zip_code: str | None = Field(default=None, pattern=r"^\d{5}$", description="optional, 5 digits")
    energy_star_score: float | None = Field(
        default=None, ge=1, le=100, description="optional; the current models do not use it"
    )
    data_year: int | None = Field(
        default=None,
        ge=2000,
        le=CURRENT_YEAR + 1,
        description="Reporting year to predict for (default: the latest year the models were trained on)",
    )

    @model_validator(mode="after")
    def parts_within_total(self) -> Building:
        buildings = self.property_gfa_buildings
        if buildings is None:
            buildings = self.property_gfa_total - self.property_gfa_parking
            if buildings <= 0:
                raise ValueError("property_gfa_parking must be smaller than property_gfa_total")
            self.property_gfa_buildings = buildings
        if self.property_gfa_parking + buildings > self.property_gfa_total * 1.01:
            raise ValueError("property_gfa_parking + property_gfa_buildings must not exceed property_gfa_total")
        for rank in ("second", "third"):
            use = getattr(self, f"{rank}_largest_property_use_type")
            area = getattr(self, f"{rank}_largest_property_use_type_gfa")
            if (use is None) != (area is None):
                raise ValueError(f"{rank}_largest_property_use_type and its _gfa must be given together")
        return self


class Estimate(BaseModel):
    prediction: float = Field(description="Point prediction in the stated unit")
    lower_80: float = Field(description="Lower bound of the 80% prediction interval (split-conformal)")
    upper_80: float = Field(description="Upper bound of the 80% prediction interval (split-conformal)")


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
    interval_log_halfwidth: float
    interval_coverage: float
    scoring: str = Field(default="", description="How requests are scored: the compiled model family, or why not")


class ModelInfo(BaseModel):
    models: dict[str, ModelCard]
    input_schema: dict[str, Any]
    max_batch_size: int = MAX_BATCH
