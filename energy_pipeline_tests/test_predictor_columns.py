"""What the service makes of validated buildings is what training's `model_inputs` makes of the same rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from energy_pipeline.benchmarks.requests import real_buildings
from energy_pipeline.domain.columns import DATA_YEAR
from energy_pipeline.domain.fast_scoring import frame_columns
from energy_pipeline.domain.features import CATEGORICAL_INPUTS, MODEL_INPUTS
from energy_pipeline.serving.predictor import Predictor
from energy_pipeline.serving.schemas import Building


def test_served_columns_are_the_training_inputs_of_the_same_buildings() -> None:
    bodies = real_buildings(40)
    bodies[0] |= {"number_of_floors": 0, "zip_code": None, "energy_star_score": None}  # 0 floors: unknown
    bodies[1] |= {
        DATA_YEAR: 2015,
        "second_largest_property_use_type": None,
        "second_largest_property_use_type_gfa": None,
    }
    buildings = [Building(**body) for body in bodies]
    served = Predictor.columns(SimpleNamespace(default_year=2016), buildings)  # type: ignore[arg-type]

    rows = pd.DataFrame([b.model_dump() for b in buildings])
    rows[DATA_YEAR] = rows[DATA_YEAR].fillna(2016)
    rows["number_of_floors"] = rows["number_of_floors"].replace(0, np.nan)
    expected = frame_columns(rows)
    assert list(served) == list(MODEL_INPUTS)
    for name in MODEL_INPUTS:
        if name in CATEGORICAL_INPUTS:
            assert list(served[name]) == list(expected[name]), name
        else:
            np.testing.assert_array_equal(served[name], expected[name], err_msg=name)
    assert served[DATA_YEAR][:2].tolist() == [2016.0, 2015.0]
    assert np.isnan(served["number_of_floors"][0]) and served["zip_code"][0] is None
