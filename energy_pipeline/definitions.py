"""The single Definitions object of the code location (`dagster dev -m energy_pipeline`, workspace.yaml): each
stage's `defs` merged, with the resources of the environment (`orchestration/resources.py`)."""

from collections.abc import Mapping

import dagster as dg

from energy_pipeline.data import defs as data
from energy_pipeline.models import defs as models
from energy_pipeline.operations import defs as operations
from energy_pipeline.orchestration.resources import resources_for
from energy_pipeline.orchestration.settings import environment
from energy_pipeline.serving import defs as serving

# A launched run's steps fork from a server that imported this code location once per run: with the default
# `spawn` every step (and every retry) imported dagster, sklearn, MLflow... again, seconds per step.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["energy_pipeline.definitions"]}}}
)


def build_definitions(resources: Mapping[str, object] | None = None) -> dg.Definitions:
    """`resources` replaces the defaults by key; tests use it to point the graph at their own folders."""
    return dg.Definitions.merge(
        data.defs,
        models.defs,
        serving.defs,
        operations.defs,
        dg.Definitions(resources={**resources_for(environment()), **(resources or {})}, executor=STEP_PROCESSES),
    )


defs = build_definitions()
