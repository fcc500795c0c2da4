"""The retraining schedule: every data year, through the champion gate (serving follows only if it changed)."""

import dagster as dg

from energy_pipeline.orchestration.jobs import training_job
from energy_pipeline.orchestration.settings import automation_starts_running, resolved

retraining_schedule = dg.ScheduleDefinition(
    name="weekly_retraining",
    job=training_job,
    cron_schedule=resolved("ENERGY_PIPELINE_RETRAIN_CRON"),
    execution_timezone="America/Los_Angeles",  # Seattle's clock
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_starts_running()
    else dg.DefaultScheduleStatus.STOPPED,
    description="Retrains both targets on all available years (cron: ENERGY_PIPELINE_RETRAIN_CRON). The gate "
    "decides; champion_changed_sensor rebuilds and pushes the Bento only when a champion moved.",
)
