"""Request bodies made of real buildings, for the serving benchmark and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.harmonise import harmonise, parse_location
from energy_pipeline.data.ingest import NULL_MARKERS, SOURCE_ROW, read_benchmarking_csv
from energy_pipeline.data.layouts import recognise
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.schemas import Building

INTEGER_FIELDS = ("year_built", "number_of_buildings", "number_of_floors", "council_district_code", "data_year")


def export_file(year: int) -> Path:
    return PROJECT_ROOT / "data" / "raw" / f"{year}-building-energy-benchmarking.csv"


def portal_requests(source: Path) -> dict[int, dict[str, Any]]:
    """Every row of an export as a client holding the portal's file would send it: the columns renamed to the API's
    fields (by the file's layout), the values as the portal wrote them (its spellings, cut names, 0 for missing),
    JSON numbers for numbers and null for the portal's missing markers. Keyed by the row's number in the file."""
    frame = read_benchmarking_csv(source)
    match = recognise(c for c in frame.columns if c != SOURCE_ROW)
    fields = {canonical: column for column, canonical in match.columns.items() if canonical in Building.model_fields}
    bodies: dict[int, dict[str, Any]] = {}
    for record in frame.to_dict("records"):
        body = {field: _json_value(field, record[column]) for field, column in fields.items()}
        if "location" in {canonical for canonical in match.columns.values()}:  # 2015: a client unpacks it
            location = parse_location(record[_column(match.columns, "location")])
            body |= {
                "latitude": _json_value("latitude", location["latitude"]),
                "longitude": _json_value("longitude", location["longitude"]),
                "zip_code": location["zip_code"],
            }
        bodies[int(record[SOURCE_ROW])] = {k: v for k, v in body.items() if v is not None}
    return bodies


def _column(columns: dict[str, str], canonical: str) -> str:
    return next(source for source, name in columns.items() if name == canonical)


def _json_value(field: str, value: object) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() in NULL_MARKERS:
        return None
    annotation = str(Building.model_fields[field].annotation)
    if "float" in annotation or field in INTEGER_FIELDS:
        number = float(str(value).replace(",", ""))
        return int(number) if field in INTEGER_FIELDS else number
    return str(value)


def kept_requests(source: Path, year: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows training keeps of a year's export (harmonised and cleaned as the pipeline does), and the same rows
    as the portal wrote them (`portal_requests`): what a champion trained on that year must accept."""
    raw = harmonise(read_benchmarking_csv(source))
    cleaned = clean_buildings(raw, validate_raw(raw, year, 0.02).invalid_rows).cleaned
    bodies = portal_requests(source)
    return cleaned, [bodies[int(row)] for row in cleaned[SOURCE_ROW]]


def real_buildings(count: int, year: int = 2016) -> list[dict[str, Any]]:
    """The first `count` rows of the year's export that training keeps, as the portal gives them (JSON-ready)."""
    return kept_requests(export_file(year), year)[1][:count]
