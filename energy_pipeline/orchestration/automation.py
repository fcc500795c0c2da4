"""Declarative automation: what refreshes by itself when its inputs change.

A new year's ingest run (requested by the landing sensor) materializes raw -> cleaned behind blocking checks;
once those checks passed, the profile and the whole training chain follow on their own (eager). Serving does
not: a retraining that keeps the champion must not rebuild the image, so `champion_changed_sensor` drives it.
"""

import dagster as dg

from energy_pipeline.orchestration.concurrency import TRAINING_TAG
from energy_pipeline.orchestration.settings import automation_starts_running

AFTER_CHECKED_UPSTREAM = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()

automation_sensor = dg.AutomationConditionSensorDefinition(
    name="retrain_on_new_data",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=60,
    run_tags=TRAINING_TAG,  # its runs may train: they queue behind any other training
    default_status=dg.DefaultSensorStatus.RUNNING if automation_starts_running() else dg.DefaultSensorStatus.STOPPED,
    description="Evaluates the assets' automation conditions: profile and training follow a checked ingest.",
)
