"""Sensors: new exports in the landing location, a changed champion, and failed runs."""

import json

import dagster as dg

from energy_pipeline.domain.landing import LandingError
from energy_pipeline.orchestration.alerting import FailureAlerts
from energy_pipeline.orchestration.data_resources import LandingZone
from energy_pipeline.orchestration.jobs import ingest_job, serving_job
from energy_pipeline.orchestration.partitions import DATA_YEARS, DATA_YEARS_NAME
from energy_pipeline.orchestration.settings import automation_starts_running

MODEL_ASSETS = ("site_energy_model", "ghg_emissions_model")
DEFAULT_STATUS = dg.DefaultSensorStatus.RUNNING if automation_starts_running() else dg.DefaultSensorStatus.STOPPED


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=DEFAULT_STATUS,
    description="A new (or changed) `<YEAR>-*.csv` in the landing location adds the year's partition and "
    "ingests it; the cursor keeps each file's content digest, so re-dropping the same file does nothing.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
    try:
        files = landing.listing()
    except LandingError as error:
        return dg.SensorResult(skip_reason=f"landing location is ambiguous: {error}")
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    changed = {year: landed for year, landed in sorted(files.items()) if seen.get(year) != landed.digest}
    if not changed:
        return dg.SensorResult(skip_reason=f"no new or changed export in {landing.location}")
    known = set(context.instance.get_dynamic_partitions(DATA_YEARS_NAME))
    new_years = [year for year in changed if year not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=year,
                run_key=f"{year}:{landed.digest}",
                tags={"landing/file": landed.location, "landing/digest": landed.digest},
            )
            for year, landed in changed.items()
        ],
        dynamic_partitions_requests=[DATA_YEARS.build_add_request(new_years)] if new_years else [],
        cursor=json.dumps({**seen, **{year: landed.digest for year, landed in changed.items()}}, sort_keys=True),
    )


def champion_versions(instance: dg.DagsterInstance) -> str | None:
    """`e<version>-g<version>` of the champions after the latest model materializations (as the Bento tag)."""
    versions = []
    for asset in MODEL_ASSETS:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        materialization = event.asset_materialization if event else None
        champion = materialization.metadata.get("champion_version") if materialization else None
        if champion is None or champion.value in (None, "none"):
            return None
        versions.append(str(champion.value))
    return f"e{versions[0]}-g{versions[1]}"


@dg.sensor(
    job=serving_job,
    minimum_interval_seconds=60,
    default_status=DEFAULT_STATUS,
    description="Rebuilds the Bento, its image and the ECR push only when a champion changed (the gate "
    "promoted a new version), never for a retraining that kept the champion.",
)
def champion_changed_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    current = champion_versions(context.instance)
    if current is None:
        return dg.SensorResult(skip_reason="no champion for both targets yet")
    if current == context.cursor:
        return dg.SensorResult(skip_reason=f"champions unchanged ({current})")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=current, tags={"champions": current})], cursor=current)


@dg.run_failure_sensor(
    default_status=DEFAULT_STATUS,
    monitor_all_code_locations=False,
    description="Records every failed run (artifacts/failures.jsonl) and posts it to the webhook if configured.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: FailureAlerts) -> None:
    run = context.dagster_run
    steps = [event.step_key for event in context.get_step_failure_events() if event.step_key]
    alerts.send(
        {
            "run_id": run.run_id,
            "job": run.job_name,
            "partition": run.tags.get("dagster/partition"),
            "failed_steps": steps,
            "error": context.failure_event.message or "run failed",
        }
    )
