"""The default search as `make run` runs it (`TrainingPolicy`'s defaults), without MLflow: what the growth and
forward benchmarks train, so both measure the search the pipeline runs."""

from __future__ import annotations

import pandas as pd

from energy_pipeline.core.columns import BUILDING_ID
from energy_pipeline.models.candidates import STACKING
from energy_pipeline.models.defs import search_settings
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.modelling import COST_EXAMPLE_ROWS, SearchSettings
from energy_pipeline.models.protocol import log_target
from energy_pipeline.models.training import CandidateResult, measure_cost, tune_candidate
from energy_pipeline.orchestration.training_resources import TrainingPolicy


def default_settings() -> SearchSettings:
    return search_settings(TrainingPolicy())


def default_search(train: pd.DataFrame, target_column: str, settings: SearchSettings) -> list[CandidateResult]:
    """Every candidate but the stacking tuned on the protocol's grouped splits of `train`, its cost measured."""
    X, y = train[list(MODEL_INPUTS)], log_target(train, target_column)
    splits = settings.protocol.splits(train[BUILDING_ID])
    return [
        measure_cost(
            tune_candidate(name, X, y, splits, settings.grid_size, settings.n_jobs),  # type: ignore[arg-type]
            X.head(COST_EXAMPLE_ROWS),
        )
        for name in settings.candidates
        if name != STACKING
    ]
