"""The training assets against a real `mlflow server` process (SQLite backend, proxied local artifacts) on a
free localhost port: only the tracking URI changes, as it would for the production server."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.models.tracking import MlflowSettings, TrainingTracker
from energy_pipeline.orchestration.training_resources import MlflowTracking
from energy_pipeline_tests.conftest import copy_exports
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance
from energy_pipeline_tests.support.services import free_port
from energy_pipeline_tests.support.services import mlflow_server as start_mlflow_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    with start_mlflow_server(root, free_port()) as url:
        yield url


def test_training_logs_and_registers_on_an_mlflow_server(mlflow_server: str, tmp_path: Path) -> None:
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    with throwaway_instance(tmp_path) as instance:
        defs = definitions_for(landing, tmp_path / "artifacts", mlflow=MlflowTracking(tracking_uri=mlflow_server))
        reports = run_pipeline(instance, defs, jobs=("ingest_job", "training_job"))
        assert all(r.success for r in reports), format_summary(reports)
    client = MlflowClient(mlflow_server)
    for name in ("energy-pipeline-site-energy", "energy-pipeline-ghg-emissions"):
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.version == "1" and champion.tags["gate.decision"] == "promoted"
        run = client.get_run(champion.run_id)
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # artifacts travel through the server
        assert {"holdout_r2_log", "interval_log_halfwidth_pooled"} <= set(run.data.metrics)
    assert not (tmp_path / "mlflow").exists()  # nothing fell back to a local store


RACE_ROUNDS, RACERS = 4, 3


def _log_same_dataset_at_once(url: str, experiment: str, barrier: Barrier, runs: multiprocessing.Queue) -> None:
    """One racer: create the experiment and log each round's new dataset at the same instant as the others."""
    barrier.wait()
    tracker = TrainingTracker(MlflowSettings(tracking_uri=url, experiment=experiment))
    frame = pd.DataFrame({"floors": [1, 2, 3], "site_energy_kbtu": [1.0, 2.0, 3.0]})
    for round_ in range(RACE_ROUNDS):
        with tracker.run(f"round-{round_}", tags={}) as run:
            barrier.wait()
            tracker.log_training_data(frame, "site_energy_kbtu", f"digest-{round_}", ["2015"])
            runs.put(run.info.run_id)


def test_steps_logging_the_same_new_dataset_at_once_all_succeed(mlflow_server: str) -> None:
    """Both targets' candidate steps log the same cleaned data at the same moment; on a multi-worker server the
    check-then-insert of the dataset let one of them fail (seen in CI). Several real processes race here."""
    spawn = multiprocessing.get_context("spawn")
    barrier, runs = spawn.Barrier(RACERS, timeout=120), spawn.Queue()  # a dead racer breaks it, not hangs
    racers = [
        spawn.Process(target=_log_same_dataset_at_once, args=(mlflow_server, "dataset-race", barrier, runs))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=300)
    assert [racer.exitcode for racer in racers] == [0] * RACERS
    client = MlflowClient(mlflow_server)
    run_ids = [runs.get(timeout=5) for _ in range(RACE_ROUNDS * RACERS)]
    digests = [[d.dataset.digest for d in client.get_run(run_id).inputs.dataset_inputs] for run_id in run_ids]
    assert sorted(d for run_digests in digests for d in run_digests) == sorted(
        f"digest-{round_}" for round_ in range(RACE_ROUNDS) for _ in range(RACERS)
    )
    experiments = [e for e in client.search_experiments() if e.name == "dataset-race"]
    assert len(experiments) == 1
