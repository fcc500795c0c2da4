"""Operations on a real instance: the landing sensor, automation after checked ingests, the champion sensor,
the failure alert and the monitoring checks. One champion is trained on 2015 (tiny grid); 2016 then arrives as
the new year, as it would in production."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.operations.defs import champion_changed_sensor, landing_files_sensor, run_failure_alert
from energy_pipeline.orchestration.alerting import FailureAlerts
from energy_pipeline.orchestration.data_resources import LandingZone
from energy_pipeline.orchestration.training_resources import MonitoringPolicy
from energy_pipeline_tests.conftest import copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import check_results, definitions_for, throwaway_instance

pytestmark = pytest.mark.e2e

MODEL_NAMES = ("energy-pipeline-site-energy", "energy-pipeline-ghg-emissions")
TRAINING_ASSETS = {"training_data", "site_energy_candidates", "site_energy_model", "buildings_profile"}


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None, **resources: Any):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor(context)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 2015-only champion, and an instance that later tests drop new files into."""
    root = tmp_path_factory.mktemp("operations")
    landing = copy_exports(root / "landing", years=(2015,))
    with throwaway_instance(root) as instance:
        defs = definitions_for(landing, root / "artifacts")
        reports = run_pipeline(instance, defs, jobs=("ingest_job", "training_job"))
        assert all(r.success for r in reports), format_summary(reports)
        client = MlflowClient(defs.resources["mlflow"].tracking_uri)
        yield {"root": root, "landing": landing, "instance": instance, "defs": defs, "mlflow": client}


def requested_assets(result: dg.EvaluateAutomationConditionsResult, defs: dg.Definitions) -> set[str]:
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    return {key.to_user_string() for key in keys if result.get_num_requested(key) > 0}


def versions(client: MlflowClient) -> dict[str, list[str]]:
    return {name: sorted(v.version for v in client.search_model_versions(f"name='{name}'")) for name in MODEL_NAMES}


def champions(client: MlflowClient) -> dict[str, str]:
    return {name: client.get_model_version_by_alias(name, "champion").version for name in MODEL_NAMES}


def test_landing_sensor_requests_new_years_once_per_content(tmp_path: Path) -> None:
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    zone = LandingZone(directory=str(landing))
    with dg.instance_for_test() as instance:
        first = evaluate(landing_files_sensor, instance, None, landing=zone)
        assert [r.partition_key for r in first.run_requests] == ["2015"]
        assert first.dynamic_partitions_requests[0].partition_keys == ["2015"]
        instance.add_dynamic_partitions("data_years", ["2015"])
        again = evaluate(landing_files_sensor, instance, first.cursor, landing=zone)
        assert not again.run_requests and "no new or changed export" in again.skip_reason.skip_message
        shutil.copy(export_path(2016), landing / export_path(2016).name)
        second = evaluate(landing_files_sensor, instance, first.cursor, landing=zone)
        assert [r.partition_key for r in second.run_requests] == ["2016"]
        instance.add_dynamic_partitions("data_years", ["2016"])
        shutil.copy(export_path(2016), landing / export_path(2016).name)  # the same file dropped again
        assert not evaluate(landing_files_sensor, instance, second.cursor, landing=zone).run_requests
        (landing / export_path(2015).name).write_bytes(export_path(2015).read_bytes() + b"\n")  # a re-issue
        reissued = evaluate(landing_files_sensor, instance, second.cursor, landing=zone)
        assert [r.partition_key for r in reissued.run_requests] == ["2015"]
        assert reissued.dynamic_partitions_requests == []  # the year is known already


def test_new_year_is_ingested_then_training_follows_by_automation(world: dict[str, Any]) -> None:
    instance, defs, landing = world["instance"], world["defs"], world["landing"]
    zone = defs.resources["landing"]
    cursor = json.dumps({"2015": zone.listing()["2015"].digest})
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    shutil.copy(export_path(2016), landing / export_path(2016).name)
    result = evaluate(landing_files_sensor, instance, cursor, landing=zone)
    (request,) = result.run_requests
    instance.add_dynamic_partitions("data_years", result.dynamic_partitions_requests[0].partition_keys)
    run = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    )
    assert run.success
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
    requested = requested_assets(after, defs)
    assert requested >= TRAINING_ASSETS
    assert not {"bento", "serving_image", "ecr_image"} & requested  # serving follows the champion sensor only
    world["ingested_2016"] = run


def test_drift_check_compares_the_new_year_with_the_champions_training_data(world: dict[str, Any]) -> None:
    checks = check_results(world["ingested_2016"])
    drift = checks["cleaned_buildings_drift"]
    assert drift.metadata["reference"].value.endswith("years 2015")
    assert "property_gfa_total" in drift.metadata["features"].value
    assert drift.metadata["max_psi"].value < 0.25 and drift.passed  # 2015 -> 2016: the same city
    decay = checks["champion_performance_on_year"]
    assert "energy-pipeline-site-energy v1" in decay.metadata["scores"].value
    assert "| False " in decay.metadata["scores"].value  # 2016 was not in the champion's training data


def test_a_shifted_year_trips_the_drift_threshold(world: dict[str, Any], tmp_path: Path) -> None:
    shifted = tmp_path / "landing"
    shifted.mkdir()
    # every building three times larger: a unit change in the export, what drift monitoring must catch
    frame = pd.read_csv(export_path(2016), dtype=str, keep_default_na=False)
    for column in ("PropertyGFATotal", "PropertyGFABuilding(s)", "LargestPropertyUseTypeGFA"):
        frame[column] = (pd.to_numeric(frame[column], errors="coerce") * 3).round().astype("Int64").astype(str)
    frame.to_csv(shifted / "2016-shifted.csv", index=False)
    with throwaway_instance(tmp_path) as instance:  # the champion's MLflow store, a fresh Dagster instance
        instance.add_dynamic_partitions("data_years", ["2016"])
        job = definitions_for(shifted, world["root"] / "artifacts-shifted").resolve_job_def("ingest_job")
        run = job.execute_in_process(instance=instance, partition_key="2016", raise_on_error=False)
    drift = check_results(run)["cleaned_buildings_drift"]
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert "property_gfa_total" in drift.metadata["drifted_features"].value
    assert drift.metadata["psi_threshold"].value == MonitoringPolicy().psi_threshold


def test_an_invalid_new_file_is_stopped_and_the_champion_stays(world: dict[str, Any], tmp_path: Path) -> None:
    instance, defs, client = world["instance"], world["defs"], world["mlflow"]
    before_versions, before_champions = versions(client), champions(client)
    landing = tmp_path / "landing"
    landing.mkdir()
    rows = export_path(2016).read_text(encoding="utf-8-sig").splitlines()
    (landing / "2018-broken.csv").write_text("\n".join([rows[0], *[r.replace(",", ";") for r in rows[1:]]]))
    zone = LandingZone(directory=str(landing))
    result = evaluate(landing_files_sensor, instance, None, landing=zone)
    assert [r.partition_key for r in result.run_requests] == ["2018"]
    instance.add_dynamic_partitions("data_years", ["2018"])
    baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    run = definitions_for(landing, world["root"] / "artifacts-broken").resolve_job_def("ingest_job")
    outcome = run.execute_in_process(instance=instance, partition_key="2018", raise_on_error=False)
    assert not outcome.success
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=baseline.cursor)
    assert not TRAINING_ASSETS & requested_assets(after, defs)
    assert versions(client) == before_versions and champions(client) == before_champions
    world["failed_run"] = outcome


def test_champion_sensor_requests_serving_only_when_a_champion_changed(world: dict[str, Any]) -> None:
    instance = world["instance"]
    first = evaluate(champion_changed_sensor, instance, None)
    (request,) = first.run_requests
    assert request.run_key == first.cursor == "e1-g1"
    unchanged = evaluate(champion_changed_sensor, instance, first.cursor)
    assert not unchanged.run_requests and "unchanged" in unchanged.skip_reason.skip_message


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_failed_run_is_recorded_and_posted_to_the_webhook(world: dict[str, Any], tmp_path: Path) -> None:
    instance, failed = world["instance"], world["failed_run"]
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        alerts = FailureAlerts(
            record_file=str(tmp_path / "failures.jsonl"),
            webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
        )
        run = instance.get_run_by_id(failed.run_id)
        (failure_event,) = [
            e.dagster_event
            for e in instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            if e.dagster_event
        ]
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=run, dagster_event=failure_event
        ).for_run_failure()
        run_failure_alert(context, alerts=alerts)
    finally:
        server.shutdown()
    (record,) = [json.loads(line) for line in (tmp_path / "failures.jsonl").read_text().splitlines()]
    assert record["run_id"] == failed.run_id and record["job"] == "ingest_job" and record["partition"] == "2018"
    (posted,) = _Webhook.received
    assert posted["run_id"] == failed.run_id and failed.run_id in posted["text"]
