"""Request bodies made of real buildings, for the serving benchmark and the tests."""

from __future__ import annotations

from typing import Any

import pandas as pd

from energy_pipeline.domain.harmonise import harmonise
from energy_pipeline.domain.ingest import read_benchmarking_csv
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.schemas import Building


def real_buildings(count: int, year: int = 2016) -> list[dict[str, Any]]:
    """Real non-residential rows of the year's export, as a client would send them (JSON-ready dicts)."""
    frame = harmonise(read_benchmarking_csv(PROJECT_ROOT / "data" / "raw" / f"{year}-building-energy-benchmarking.csv"))
    frame = frame[frame["building_type"] == "NonResidential"].dropna(subset=["largest_property_use_type"])
    buildings = []
    for _, row in frame.iterrows():
        candidate = {
            field: (None if pd.isna(row.get(field)) else row.get(field))
            for field in Building.model_fields
            if field in row.index
        }
        candidate["council_district_code"] = int(candidate["council_district_code"])
        candidate["year_built"] = int(candidate["year_built"])
        candidate["number_of_buildings"] = max(1, int(candidate["number_of_buildings"] or 1))
        candidate["number_of_floors"] = int(candidate["number_of_floors"] or 0)
        for rank in ("second", "third"):
            if candidate[f"{rank}_largest_property_use_type"] is None:
                candidate[f"{rank}_largest_property_use_type_gfa"] = None
        try:
            buildings.append(Building(**candidate).model_dump(mode="json", exclude_none=True))
        except ValueError:
            continue
        if len(buildings) == count:
            break
    return buildings
