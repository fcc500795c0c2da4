"""The feature-group ablation, shown as a table on the asset's page."""

from typing import Any

import dagster as dg
import pandas as pd

from energy_pipeline.domain.ablation import ABLATION_MODEL, ablation_table
from energy_pipeline.domain.columns import BUILDING_ID, TARGET_SPECS
from energy_pipeline.domain.features import MODEL_INPUTS
from energy_pipeline.domain.protocol import Protocol, log_target
from energy_pipeline.modelling import HOLDOUT
from energy_pipeline.orchestration.assets.models import MODELS_GROUP
from energy_pipeline.orchestration.concurrency import TRAINING_POOL
from energy_pipeline.orchestration.metadata import markdown_table
from energy_pipeline.orchestration.training_resources import TrainingPolicy
from energy_pipeline.version import source_version


@dg.asset(
    code_version=source_version(__name__),
    group_name=MODELS_GROUP,
    pool=TRAINING_POOL,  # it fits models too: one training at a time
    kinds={"sklearn"},
    description=f"Each feature group's effect on the CV R² (log) of a fixed {ABLATION_MODEL} model, per target "
    "(first seed's grouped folds of the training rows); the optional ENERGY STAR score is measured on top.",
)
def feature_ablation(training_data: pd.DataFrame, training: TrainingPolicy) -> dg.MaterializeResult:
    train = training_data[~training_data[HOLDOUT]]
    splits = Protocol(folds=training.cv_folds, seeds=tuple(training.cv_seeds[:1])).splits(train[BUILDING_ID])
    metadata: dict[str, Any] = {}
    for target in TARGET_SPECS:
        table = ablation_table(train[list(MODEL_INPUTS)], log_target(train, target.column), splits, training.n_jobs)
        metadata[target.key] = markdown_table(table.round(4).to_dict("records"))
    return dg.MaterializeResult(metadata=metadata)
