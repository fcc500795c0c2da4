"""`energy-pipeline run`: materialize the whole graph on the local Dagster instance and print what happened.

Runs go through the same instance as `dagster dev` (DAGSTER_HOME), so every run shows in the UI afterwards.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

# Dagster's notes on its own beta and preview APIs are for this code's authors, not for whoever runs it
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from energy_pipeline.core import names  # noqa: E402
from energy_pipeline.core.names import Meta  # noqa: E402
from energy_pipeline.definitions import defs  # noqa: E402
from energy_pipeline.models.forward import FORWARD_METRICS, POPULATIONS  # noqa: E402
from energy_pipeline.orchestration.data_resources import LandingZone  # noqa: E402
from energy_pipeline.orchestration.partitions import register_years  # noqa: E402
from energy_pipeline.private_apis.dagster_internals import (  # noqa: E402
    PARTITION_NAME_TAG,
    AssetGraphView,
    CachingStaleStatusResolver,
    StaleStatus,
    TemporalContext,
    get_current_datetime,
)

SUMMARY_KEYS = (
    Meta.WINNER,
    Meta.SELECTION,
    Meta.RUNNER_UP,
    Meta.LEAD_OVER_RUNNER_UP,
    Meta.REGISTERED_MODEL,
    Meta.REGISTERED_VERSION,
    Meta.DECISION,
    Meta.REASON,
    Meta.CHAMPION_VERSION,
    Meta.CV_R2_LOG,
    Meta.HOLDOUT_R2_LOG,
    Meta.HOLDOUT_MEDIAN_APE,
    Meta.PROTOCOL_2016_R2_LOG,
    Meta.PROTOCOL_2016_MEDIAN_APE,
    Meta.CONFIGURATION,
    *(Meta.pooled(population, metric) for population in POPULATIONS for metric in FORWARD_METRICS),
    *(Meta.buildings(population) for population in POPULATIONS),
    Meta.SCORED_YEARS,
    Meta.INTERVAL_NOVELTY_SCALE,
    Meta.BENTO,
    Meta.SERVE,
    Meta.IMAGE,
    Meta.BACKEND,
    Meta.SIZE_MB,
    Meta.URI,
    Meta.DIGEST,
    Meta.LAYOUT,
    Meta.EXACT_DUPLICATES_COLLAPSED,
)
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class RunReport:
    """What one job run did, read back from its events."""

    label: str
    success: bool
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # name, passed, description
    warned: set[str] = field(default_factory=set)  # failed checks of WARN severity: reported, never blocking
    failures: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # asset -> why it was not built
    fresh: bool = False  # not run at all: every asset up to date (`run --changed-only`)
    stale: dict[str, str] = field(default_factory=dict)  # with --changed-only: the assets that made it run, and why


def _report(label: str, result: dg.ExecuteInProcessResult) -> RunReport:
    report = RunReport(label=label, success=result.success)
    for event in result.get_asset_materialization_events():
        data = event.step_materialization_data
        if data is None:
            continue
        materialization = data.materialization
        values: dict[str, object] = {key: value.value for key, value in materialization.metadata.items()}
        report.materialized[materialization.asset_key.to_user_string()] = values
    for event in result.get_asset_observation_events():
        observation = event.asset_observation_data.asset_observation
        if Meta.SKIPPED in observation.metadata:
            report.skipped[observation.asset_key.to_user_string()] = str(observation.metadata[Meta.SKIPPED].value)
    for evaluation in result.get_asset_check_evaluations():
        report.checks.append(
            (
                f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                evaluation.passed,
                evaluation.description or "",
            )
        )
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN:
            report.warned.add(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            user_failure = event.step_failure_data.user_failure_data
            if user_failure is not None and user_failure.description:  # a `dg.Failure`: its message is for people
                report.failures.append(f"{event.step_key}: {user_failure.description.strip()}")
                continue
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:  # the user's exception, not Dagster's wrapper
                error = error.cause
            report.failures.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    return report


def _label(job: str) -> str:
    """A job's name in the summary: `training_job` -> `training`."""
    return job.removesuffix("_job")


def stale_assets(instance: dg.DagsterInstance, definitions: dg.Definitions, job: str) -> dict[str, str]:
    """The job's assets that are missing or stale (a new code version, or an input with a new data version), with
    why. Assets whose output is optional (the image, the push: skipped where no builder or registry is) do not
    count: they may never be materialized on this machine."""
    graph = definitions.resolve_asset_graph()
    # Dagster's own staleness (what the UI's "Materialize changed and missing" uses); its resolver is not public API
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    resolver = CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)
    stale: dict[str, str] = {}
    for key in definitions.resolve_job_def(job).asset_layer.executable_asset_keys:
        node = graph.get(key)
        if node.is_partitioned or not node.is_materializable or key.to_user_string() in names.OPTIONAL_ASSETS:
            continue
        status = resolver.get_status(key)
        if status == StaleStatus.MISSING:
            stale[key.to_user_string()] = "never materialized"
        elif status == StaleStatus.STALE:
            causes = resolver.get_stale_root_causes(key)
            stale[key.to_user_string()] = "; ".join(
                sorted({f"{c.asset_key.to_user_string()} {c.reason}" for c in causes})
            )
    return stale


def run_pipeline(
    instance: dg.DagsterInstance,
    definitions: dg.Definitions = defs,
    jobs: Sequence[str] = names.ALL_JOBS,
    changed_only: bool = False,
) -> list[RunReport]:
    """Register the landing zone's years, ingest each, then run the cross-year jobs; stops at the first failure.

    `changed_only`: the ingest still reads every export (that is how a changed file is noticed, and it is cheap);
    a later job runs only when one of its assets is missing or stale, else it is reported as skipped."""
    landing = (definitions.resources or {})["landing"]
    assert isinstance(landing, LandingZone)
    landing = landing.process_config_and_initialize()  # an `EnvVar` (ENERGY_PIPELINE_LANDING_DIR) resolved
    years = sorted(landing.year_files())
    register_years(instance, years)
    reports = []
    for year in years if names.INGEST_JOB in jobs else []:
        _announce(f"ingest {year}")
        result = definitions.resolve_job_def(names.INGEST_JOB).execute_in_process(
            instance=instance, partition_key=year, raise_on_error=False, run_config=QUIET
        )
        reports.append(_report(f"ingest {year}", result))
    for job in [j for j in jobs if j != names.INGEST_JOB]:
        if not (years and all(r.success for r in reports)):
            break
        if job == names.MONITORING_JOB:
            # the ingest already compared each year with the champions of the time; only a training just run
            # brings new champions to compare every year with
            if any(r.label == _label(names.TRAINING_JOB) and not r.fresh for r in reports):
                reports += [_monitor(instance, definitions, year) for year in years]
            continue
        stale = stale_assets(instance, definitions, job) if changed_only else {}
        if changed_only and not stale:
            reports.append(RunReport(label=_label(job), success=True, fresh=True))
            continue
        _announce(f"{job.removesuffix('_job')}: {', '.join(_job_assets(definitions, job))}")
        result = definitions.resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET
        )
        reports.append(_report(_label(job), result))
        reports[-1].stale = stale
    return reports


def _monitor(instance: dg.DagsterInstance, definitions: dg.Definitions, year: str) -> RunReport:
    _announce(f"monitor {year}: drift and decay against the champions")
    # a checks-only job has no asset to take a partitions definition from, so `partition_key=` is refused: the
    # partition tag is what the checks read their year (and load its cleaned rows) from
    result = definitions.resolve_job_def(names.MONITORING_JOB).execute_in_process(
        instance=instance, tags={PARTITION_NAME_TAG: year}, raise_on_error=False, run_config=QUIET
    )
    return _report(f"monitor {year}", result)


def _announce(step: str) -> None:
    """Which job starts, on stderr beside the steps' own log lines, so a long run is never minutes of silence."""
    print(f"energy-pipeline: {step}", file=sys.stderr, flush=True)


def _job_assets(definitions: dg.Definitions, job: str) -> list[str]:
    keys = definitions.resolve_job_def(job).asset_layer.executable_asset_keys
    return sorted(key.to_user_string() for key in keys)


def format_summary(reports: list[RunReport]) -> str:
    lines = ["", "energy-pipeline run summary", "=" * 27]
    for report in reports:
        if report.fresh:
            lines.append(f"[fresh] {report.label}: skipped, same code and same input data as its last run")
            continue
        lines.append(f"[{'ok' if report.success else 'FAILED'}] {report.label}")
        lines += [f"    ran because {asset}: {why}" for asset, why in report.stale.items()]
        for asset, values in report.materialized.items():
            rows = values.get(Meta.ROW_COUNT)
            lines.append(f"    {asset}: {rows} rows" if rows is not None else f"    {asset}: materialized")
            for key, value in values.items():
                if key.startswith("rejected/"):
                    lines.append(f"        {key.removeprefix('rejected/')}: {value}")
                elif key in SUMMARY_KEYS:
                    lines.append(f"        {key}: {value}")
            if Meta.CANDIDATES in values:
                lines += [f"        {line}" for line in str(values[Meta.CANDIDATES]).splitlines()]
        for name, passed, description in report.checks:
            first_line = description.splitlines()[0] if description else ""
            outcome = "PASSED" if passed else "WARN" if name in report.warned else "FAILED"
            lines.append(f"    check {name}: {outcome}  {first_line}")
        lines += [f"    {asset}: skipped ({why})" for asset, why in report.skipped.items()]
        lines += [f"    error {failure}" for failure in report.failures]
    return "\n".join(lines)


def ingest_line(report: RunReport) -> str:
    """One line a year: what was kept and the layout read, or the first reason the year was blocked."""
    if report.success:
        raw = report.materialized.get(names.RAW_BUILDINGS, {})
        cleaned = report.materialized.get(names.CLEANED_BUILDINGS, {})
        return (
            f"[ok] {report.label}: {raw.get(Meta.ROW_COUNT)} raw, {cleaned.get(Meta.ROW_COUNT)} cleaned "
            f"(layout {raw.get(Meta.LAYOUT)})"
        )
    failed = [f"{name} failed: {' '.join(text.split())}" for name, passed, text in report.checks if not passed]
    reasons = report.failures + failed
    return f"[blocked] {report.label}: {reasons[0] if reasons else 'the run failed'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="energy-pipeline")
    parser.add_argument(
        "command",
        choices=["run", "ingest"],
        help="run: materialize every asset for every data year; ingest: raw, cleaned and rejected buildings of "
        "every year in the landing folder, behind their blocking checks, one line a year",
    )
    parser.add_argument(
        "--changed-only",
        action="store_true",
        help="re-read the exports, then run only the jobs with a missing or stale asset (new data or new code)",
    )
    args = parser.parse_args(argv)
    with dg.DagsterInstance.get() as instance:
        if args.command == "ingest":
            reports = run_pipeline(instance, jobs=(names.INGEST_JOB,))
            print("\n".join(ingest_line(report) for report in reports) or "no export in the landing folder")
            return 0 if reports and all(r.success for r in reports) else 1
        reports = run_pipeline(instance, changed_only=args.changed_only)
    print(format_summary(reports))
    return 0 if reports and all(r.success for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
