"""Train/serve parity: a building posted as the City's export writes it, renamed to the API's fields and nothing
else, becomes the model inputs that training made of the same row, in every real export."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from bench.requests import portal_requests
from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.ingest import SOURCE_ROW
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.models.features import CATEGORICAL_INPUTS, MODEL_INPUTS, model_inputs
from energy_pipeline.serving.predictor import Predictor
from energy_pipeline.serving.schemas import Building
from energy_pipeline_tests.conftest import ALL_YEARS, export_path


def _served(buildings: list[Building], accepted: dict[str, frozenset[str]] | None = None) -> dict[str, np.ndarray]:
    predictor = SimpleNamespace(default_year=2021, accepted=accepted or {})
    return Predictor.columns(predictor, buildings)  # type: ignore[arg-type]


@pytest.mark.parametrize("year", ALL_YEARS)
def test_every_kept_row_posted_as_the_portal_wrote_it_gives_trainings_inputs(
    year: int, harmonised: dict[int, pd.DataFrame]
) -> None:
    raw = harmonised[year]
    cleaned = clean_buildings(raw, validate_raw(raw, year, 0.02).invalid_rows).cleaned
    bodies = portal_requests(export_path(year))
    buildings = [Building(**bodies[int(row)]) for row in cleaned[SOURCE_ROW]]  # each passes the request schema

    served = _served(buildings)
    expected = model_inputs(cleaned)
    assert list(served) == list(MODEL_INPUTS)
    for name in MODEL_INPUTS:
        if name in CATEGORICAL_INPUTS:
            assert served[name].tolist() == expected[name].tolist(), name
        else:
            np.testing.assert_allclose(served[name], expected[name].to_numpy(), err_msg=name, rtol=1e-12)


def test_a_2017_cut_use_type_and_2018_spellings_are_harmonised_like_training() -> None:
    body = {
        "primary_property_type": "Warehouse",  # the City's 2016-2017 list
        "largest_property_use_type": "Non-Refrige",  # 2017 cut it to 11 characters
        "second_largest_property_use_type": "Senior Care",  # cut, and renamed by ENERGY STAR in 2020
        "second_largest_property_use_type_gfa": 1000.0,
        "property_gfa_total": 20000.0,
        "year_built": 1960,
        "number_of_buildings": 0,  # the cleaning rule: at least one building
        "neighborhood": "SHARED: BALLARD &amp; NORTHWEST",
        "latitude": 0.0,  # 2021 writes 0 for missing
        "zip_code": "0",
    }
    served = _served([Building(**body)])
    assert served["primary_property_type"].tolist() == ["Non-Refrigerated Warehouse"]
    assert served["largest_property_use_type"].tolist() == ["Non-Refrigerated Warehouse"]
    assert served["second_largest_property_use_type"].tolist() == ["Senior Living Community"]
    assert served["neighborhood"].tolist() == ["BALLARD"]
    assert served["number_of_buildings"].tolist() == [1.0]
    assert np.isnan(served["latitude"][0]) and served["zip_code"].tolist() == [None]
    assert served["largest_property_use_type_gfa"].tolist() == [20000.0]  # the whole building


def test_only_the_epa_property_type_of_the_current_layout_is_enough() -> None:
    body = {"epa_property_type": "Hotel", "property_gfa_total": 50000.0, "year_built": 1990}
    served = _served([Building(**body)])
    assert served["primary_property_type"].tolist() == ["Hotel"] == served["largest_property_use_type"].tolist()


def test_an_untrained_or_ambiguous_value_is_refused_naming_the_field_and_the_accepted_values() -> None:
    accepted = {"primary_property_type": frozenset({"Hotel", "Office"})}
    with pytest.raises(ValidationError) as refused:
        _served([Building(primary_property_type="Data Center", property_gfa_total=1e4, year_built=1990)], accepted)
    error = refused.value.errors()[0]
    assert error["loc"] == ("building", "primary_property_type")
    assert "Data Center" in error["msg"] and "accepted: Hotel, Office" in error["msg"]

    cut = "Convenience"  # "Convenience Store with Gas Station" or "... without Gas Station"
    with pytest.raises(ValidationError) as refused:
        _served([Building(primary_property_type="Office", largest_property_use_type=cut, property_gfa_total=1e4,
                          year_built=1990)])  # fmt: skip
    assert refused.value.errors()[0]["loc"] == ("building", "largest_property_use_type")
    assert "fits 2" in refused.value.errors()[0]["msg"]

    with pytest.raises(ValidationError) as refused:
        _served([Building(property_gfa_total=1e4, year_built=1990)])
    assert refused.value.errors()[0]["loc"] == ("building", "primary_property_type")
