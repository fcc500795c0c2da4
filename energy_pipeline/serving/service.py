"""The BentoML service, as built into a Bento by the `bento` asset: `bentoml serve energy_pipeline:latest`.

Both champions come from the Bento model store, where the `bento` asset imported them from the MLflow
registry (`bentoml.mlflow.import_model`) and packed them into the Bento under the aliases `site_energy` and
`ghg_emissions`; the service loads those exact MLflow model directories once and
compiles them into numpy scorers (`serving/fast_scoring/`). Each stored model also carries its fitted pipeline
and its forests' LightGBM texts, made when the Bento was built (`bento_build.import_champion`), so a worker's start
skips skops and the forests' rewriting (the cold start's figures are in `bench/`).

Latency choices (measured in `bench/results/serving.json`): a single building is scored on the event loop
(`async def`: it takes well under a millisecond, a thread hop costs more); batches run in the thread pool so they
never block single requests; objects built while loading are frozen out of the garbage collector's passes; and
a short traffic timeout: BentoML 1.4 keeps each request's objects until it expires, so at ~1,000 req/s a 10 s
timeout keeps ~10,000 requests alive and full GC passes stall the server (p99 32 ms at c=1; 3.2 ms with 3 s).
Override it where a slower model is served: BENTOML_CONFIG_OPTIONS="services.energy_pipeline.traffic.timeout=30".
And the routes are left out of BentoML's tracing unless it is configured (`tracing.py`): with no exporter it
still recorded every request as spans, about 0.3 ms of Python a request (c=8: +28% served, +70% for the floor).
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import bentoml
from bentoml.exceptions import NotFound
from fastapi import FastAPI
from pydantic import Field

from energy_pipeline.core.columns import TARGET_SPECS
from energy_pipeline.private_apis.bentoml_internals import BentoMLContainer
from energy_pipeline.serving.access_log import access_log_every_from_environment, sample_access_log
from energy_pipeline.serving.auth import ApiKeyMiddleware, api_key_from_environment
from energy_pipeline.serving.image import DEFAULT_BASE_IMAGE
from energy_pipeline.serving.openapi_contract import OpenApiContractMiddleware
from energy_pipeline.serving.request_guards import (
    BodySizeLimitMiddleware,
    JsonBodiesOnlyMiddleware,
    max_body_from_environment,
)
from energy_pipeline.serving.schemas import EXAMPLE_BUILDING, MAX_BATCH, Building, ModelInfo, Prediction
from energy_pipeline.serving.tracing import UNTRACED, RequestIdentity, untraced_with_exporter

if TYPE_CHECKING:
    from energy_pipeline.serving.predictor import ServedModel

# After each bulk prediction LightGBM's OpenMP threads keep spinning (libgomp's default wait policy) on the core
# where the forest's trees are walked next, and slow the batch that follows (`bench/`). libgomp reads this
# when it loads, so it is set here, before any model library is imported; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# A Bento's models go by their target's key (`site_energy`, `ghg_emissions`), whatever their registered names
SERVED_TARGETS = tuple(target.key for target in TARGET_SPECS)
TARGET_LABEL = "target"  # the label a stored model carries its target key in
# A stored model's custom objects (`bento_build.import_champion`): its fitted pipeline, its forests' texts and
# the real rows its fast scorer is checked on before use
SERVED_PIPELINE, FOREST_TEXTS, CHECK_ROWS = "sklearn_pipeline", "forest_texts", "check_rows"
SERVICE_NAME = "energy_pipeline"  # BentoML's name: `services.energy_pipeline.…` options address it
TRAFFIC = {"timeout": 3}  # the largest batch scores in well under 1 s; see the module docstring
WORKERS = 2

# For a known distro BentoML's image starts with `apt-get install build-essential git`. Serving installs
# only wheels, so the image names no distro: no compilers, no git, nothing to patch that serving never runs.
# Without BuildKit's cache mounts, pip's and uv's download caches would stay in the image's layers.
IMAGE_BUILD_ENVS = [{"name": "UV_NO_CACHE", "value": "1"}, {"name": "PIP_NO_CACHE_DIR", "value": "1"}]
logger = logging.getLogger(__name__)
# The one system library serving needs: LightGBM's wheel links the OpenMP runtime (libgomp.so.1) but does not
# carry it, and slim images lack it, so a LightGBM champion would fail at import (found by the image benchmark).
OPENMP_RUNTIME = "apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*"
SERVING_IMAGE = bentoml.images.Image(
    base_image=DEFAULT_BASE_IMAGE, distro="wheels-only", lock_python_packages=False
).run(OPENMP_RUNTIME)


def use_models_of(bento: bentoml.Bento) -> None:
    """What `bentoml serve` does when it loads a Bento: its model aliases now name its own models. For in-process
    use of the service class (benchmarks)."""
    BentoMLContainer.model_aliases.set({m.alias: str(m.tag) for m in bento.info.all_models if m.alias})


def _newest_stored(key: str) -> bentoml.Model:
    stored = [m for m in bentoml.models.list() if m.info.labels.get(TARGET_LABEL) == key]
    if not stored:
        raise RuntimeError(f"no stored model of {key}: build a Bento with the `bento` asset")
    return max(stored, key=lambda m: m.info.creation_time)


def _served(key: str) -> ServedModel:
    """The model the Bento was built with, by its alias (`site_energy`, `ghg_emissions`): never `name:latest`,
    which names whatever model was stored last, not the one this Bento was built and versioned for."""
    # Imported here: `bentoml serve` also imports this module in its supervisor, which loads no model, and
    # sklearn, skops and pandas would only delay the workers' start there.
    from energy_pipeline.serving.mlflow_dir import MLFLOW_MODEL_FOLDER, frame_from_split_json
    from energy_pipeline.serving.predictor import ServedModel

    if not BentoMLContainer.model_aliases.get():  # served from source (a dev loop), not from a Bento
        stored = _newest_stored(key)
        logger.warning("no Bento loaded: serving the newest stored model of %s, %s", key, stored.tag)
    else:
        try:
            stored = bentoml.models.get(key)
        except NotFound:
            raise RuntimeError(f"the Bento names no model {key!r}: build it with the `bento` asset") from None
    check_json = stored.custom_objects.get(CHECK_ROWS)
    return ServedModel.from_mlflow_dir(
        key,
        Path(stored.path_of(MLFLOW_MODEL_FOLDER)),
        stored.info.labels["registered_model"],
        stored.info.labels["registered_version"],
        pipeline=stored.custom_objects.get(SERVED_PIPELINE),  # None: stored without it, read the skops file
        forest_texts=stored.custom_objects.get(FOREST_TEXTS),
        check_rows=None if check_json is None else frame_from_split_json(check_json),  # None: the input example
    )


# GET routes for plain HTTP clients (curl, dashboards); BentoML's own APIs are POST.
info_app = FastAPI(title="energy_pipeline info", description="Read-only information about the served models")


@bentoml.asgi_app(info_app, path="/v1")
@bentoml.service(
    name=SERVICE_NAME,
    description="Yearly site energy use (kBtu) and GHG emissions (t CO2e) of a Seattle non-residential building, "
    "from what is known before it is metered, with 80% prediction intervals.",
    traffic=TRAFFIC,
    workers=WORKERS,
    tracing=UNTRACED,  # BentoML's spans cost time with nothing to export them: `tracing.py`
    image=SERVING_IMAGE,
    envs=IMAGE_BUILD_ENVS,
)
class EnergyService:
    def __init__(self) -> None:
        from energy_pipeline.serving.predictor import Predictor  # see `_served`

        self.predictor = Predictor({key: _served(key) for key in SERVED_TARGETS})
        self.predictor.predict([Building(**EXAMPLE_BUILDING)])  # warm-up: first-call caches are built now
        sample_access_log(access_log_every_from_environment())
        if untraced_with_exporter():
            logger.warning(
                "a tracing exporter is configured but the routes are left out of tracing: set "
                "services.%s.tracing.excluded_urls (e.g. to /livez,/readyz) to trace them",
                SERVICE_NAME,
            )
        gc.freeze()  # models and caches live as long as the worker: keep them out of every collection

    @bentoml.api
    async def predict(self, building: Building) -> Prediction:
        """One building -> both predictions in original units, with intervals and the model versions."""
        return self.predictor.predict([building])[0]

    @bentoml.api
    def predict_batch(
        self, buildings: Annotated[list[Building], Field(min_length=1, max_length=MAX_BATCH)]
    ) -> list[Prediction]:
        """Up to 10,000 buildings -> predictions in the same order."""
        return self.predictor.predict(buildings, field="buildings")

    @bentoml.api
    def model_info(self) -> ModelInfo:
        """Registered model names and versions, training data years, protocol scores and the input schema."""
        return self.predictor.model_info()

    @info_app.get("/model_info")
    def get_model_info(self) -> ModelInfo:
        """`GET /v1/model_info`: the same answer as `POST /model_info`."""
        return self.predictor.model_info()


def add_request_guards(service: Any) -> None:
    """The guards every request passes before an API runs (`request_guards.py`, `openapi_contract.py`, `auth.py`);
    also used by the benchmark's model-free floor service, so that it pays for the same handling."""
    api_key = api_key_from_environment()
    service.add_asgi_middleware(RequestIdentity)  # first: a refused request's log line has its ids too
    service.add_asgi_middleware(BodySizeLimitMiddleware, max_bytes=max_body_from_environment())
    service.add_asgi_middleware(JsonBodiesOnlyMiddleware)
    service.add_asgi_middleware(OpenApiContractMiddleware, api_key_required=api_key is not None)
    if api_key is not None:
        service.add_asgi_middleware(ApiKeyMiddleware, api_key=api_key)


add_request_guards(EnergyService)
