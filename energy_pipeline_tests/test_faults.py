"""Faults in the middle of training, on a real instance with the job in its own process: the MLflow tracking server
stopped mid-run, and the training process killed with SIGKILL. Each time the run fails without a half-registered
champion, and Dagster's re-execution from failure completes once the cause is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from energy_pipeline.orchestration import retries
from energy_pipeline.orchestration.partitions import DATA_YEARS_NAME
from energy_pipeline_tests.conftest import copy_exports
from energy_pipeline_tests.support import fault_jobs
from energy_pipeline_tests.support.services import free_port, mlflow_server

pytestmark = pytest.mark.e2e

MODEL_NAMES = ("energy-pipeline-site-energy", "energy-pipeline-ghg-emissions")
CANDIDATE_STEPS = {"site_energy_candidates", "ghg_emissions_candidates"}


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A persistent SQLite instance in DAGSTER_HOME, shared by this process and the job's, with 2015 ingested."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(fault_jobs.LANDING, str(copy_exports(tmp_path / "landing", years=(2015,))))
    monkeypatch.setenv(fault_jobs.ARTIFACTS, str(tmp_path / "artifacts"))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(DATA_YEARS_NAME, ["2015"])
        yield instance


def _ingest_2015(instance: dg.DagsterInstance) -> None:
    assert fault_jobs.ingest_job().execute_in_process(instance=instance, partition_key="2015").success


def _start_training(log: Path, failed_run: dg.DagsterRun | None = None) -> subprocess.Popen[bytes]:
    """A training run, or the re-execution of `failed_run` from its failure, in a process of its own."""
    reexecute = [failed_run.run_id] if failed_run else []
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "energy_pipeline_tests.support.fault_jobs", *reexecute],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the step processes die with it
        )


def _step_starts(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {e.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)}


def _wait_for_step(instance: dg.DagsterInstance, steps: set[str], process: subprocess.Popen[bytes]) -> dg.DagsterRun:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(job_name="training_job"), limit=1)
        if runs and _step_starts(instance, runs[0].run_id) & steps:
            return runs[0]
        assert process.poll() is None, "the training process ended before the fault could be injected"
        time.sleep(0.2)
    raise AssertionError(f"no step of {steps} started")


def _champions(client: MlflowClient) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in MODEL_NAMES:
        try:
            found[name] = str(client.get_model_version_by_alias(name, "champion").version)
        except MlflowException:
            found[name] = None
    return found


def _reexecute_from_failure(instance: dg.DagsterInstance, failed: dg.DagsterRun, log: Path) -> dg.DagsterRun:
    process = _start_training(log, failed)
    code = process.wait(timeout=600)
    latest = instance.get_runs(dg.RunsFilter(job_name="training_job"), limit=1)[0]
    assert latest.parent_run_id == failed.run_id, "no re-execution of the failed run was recorded"
    assert code == 0 and latest.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-4000:]
    return latest


def test_sigkill_mid_training_then_reexecution_from_failure_completes(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    _ingest_2015(instance)
    process = _start_training(tmp_path / "training.log")
    run = _wait_for_step(instance, CANDIDATE_STEPS, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    killed = instance.get_run_by_id(run.run_id)
    assert killed is not None and killed.status == dg.DagsterRunStatus.STARTED  # nobody could record the end
    client = MlflowClient(fault_jobs.fault_definitions().resources["mlflow"].tracking_uri)
    assert _champions(client) == dict.fromkeys(MODEL_NAMES)

    instance.report_run_failed(killed)  # what run monitoring does in production (deploy/dagster.yaml)
    rerun = _reexecute_from_failure(instance, killed, tmp_path / "reexecution.log")
    assert "training_data" not in _step_starts(instance, rerun.run_id)  # finished before the kill: reused
    assert _champions(client) == dict.fromkeys(MODEL_NAMES, "1")


def test_mlflow_server_stopped_mid_training_fails_clearly_and_reexecution_completes(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, port = tmp_path / "mlflow-server", free_port()
    root.mkdir()
    monkeypatch.setenv(fault_jobs.TRACKING_URI, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail fast; the step's own retry policy waits
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    monkeypatch.setenv(fault_jobs.RETRY_BASE_SECONDS, "0.5")  # 3 retries in 3.5 s instead of 35 s
    with mlflow_server(root, port):
        _ingest_2015(instance)  # its monitoring checks ask MLflow for a champion
        process = _start_training(tmp_path / "training.log")
        run = _wait_for_step(instance, CANDIDATE_STEPS, process)
    # the server is gone while the candidates are being tuned and logged
    assert process.wait(timeout=600) != 0
    failed = instance.get_run_by_id(run.run_id)
    assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
    failures = [
        e.dagster_event.event_specific_data.error.to_string()  # type: ignore[union-attr]
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    ]
    assert failures and any(f"127.0.0.1:{port}" in text or "Connection refused" in text for text in failures)
    retried = Counter(e.step_key for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY))
    assert retried and max(retried.values()) == retries.MAX_RETRIES  # transient: retried, with backoff, then failed

    with mlflow_server(root, port) as url:
        client = MlflowClient(url)
        assert _champions(client) == dict.fromkeys(MODEL_NAMES)  # nothing half-registered became champion
        rerun = _reexecute_from_failure(instance, failed, tmp_path / "reexecution.log")
        assert "training_data" not in _step_starts(instance, rerun.run_id)
        assert _champions(client) == dict.fromkeys(MODEL_NAMES, "1")
        for name in MODEL_NAMES:
            assert client.get_model_version_by_alias(name, "champion").tags["gate.decision"] == "promoted"
