"""The serving floor: the service's single-building API, with its input validation, request guards and settings,
and no model behind it. What BentoML's request handling alone costs on this machine; `bench/serving.py`
serves it beside the Bento, so the model's share of a served request is measured, not guessed.

`bentoml serve bench.floor_service:ServingFloor` from the project root.
"""

from __future__ import annotations

import gc

import bentoml

from energy_pipeline.serving.schemas import Building, Estimate, Prediction
from energy_pipeline.serving.service import TRAFFIC, WORKERS, add_request_guards
from energy_pipeline.serving.tracing import UNTRACED

FIXED = Estimate(prediction=1.0, lower_80=0.5, upper_80=2.0)
ANSWER = Prediction(site_energy_use_kbtu=FIXED, total_ghg_emissions_t_co2e=FIXED, model_versions={"none": "0"})


@bentoml.service(name="serving_floor", traffic=dict(TRAFFIC), workers=WORKERS, tracing=UNTRACED)
class ServingFloor:
    def __init__(self) -> None:
        gc.freeze()  # as the service does after loading its models

    @bentoml.api
    async def predict(self, building: Building) -> Prediction:
        """A validated building -> the same fixed answer."""
        return ANSWER


add_request_guards(ServingFloor)
