"""The single Definitions object of the code location (`dagster dev -m energy_pipeline`, workspace.yaml)."""

from collections.abc import Mapping

import dagster as dg

from energy_pipeline.orchestration.assets import ablation, buildings, models, profile, serving
from energy_pipeline.orchestration.automation import automation_sensor
from energy_pipeline.orchestration.checks import data_quality, monitoring
from energy_pipeline.orchestration.checks.champion import CHAMPION_GATE_CHECKS
from energy_pipeline.orchestration.jobs import (
    ablation_job,
    ingest_job,
    monitoring_job,
    profile_job,
    serving_job,
    training_job,
)
from energy_pipeline.orchestration.resources import resources_for
from energy_pipeline.orchestration.schedules import retraining_schedule
from energy_pipeline.orchestration.sensors import champion_changed_sensor, landing_files_sensor, run_failure_alert
from energy_pipeline.orchestration.settings import environment

# A launched run's steps fork from a server that imported this code location once per run: with the default
# `spawn` every step (and every retry) imported dagster, sklearn, MLflow... again, ~6 s each on 2 cores.
STEP_PROCESSES = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["energy_pipeline.definitions"]}}}
)


def build_definitions(resources: Mapping[str, object] | None = None) -> dg.Definitions:
    """`resources` replaces the defaults by key; tests use it to point the graph at their own folders."""
    return dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([buildings, profile]),
            models.training_data,
            *models.TARGET_ASSETS,
            ablation.feature_ablation,
            *dg.load_assets_from_modules([serving]),
        ],
        asset_checks=[*dg.load_asset_checks_from_modules([data_quality, monitoring]), *CHAMPION_GATE_CHECKS],
        jobs=[ingest_job, profile_job, training_job, monitoring_job, ablation_job, serving_job],
        schedules=[retraining_schedule],
        sensors=[landing_files_sensor, champion_changed_sensor, run_failure_alert, automation_sensor],
        resources={**resources_for(environment()), **(resources or {})},
        executor=STEP_PROCESSES,
    )


defs = build_definitions()
