"""The training assets against a real `mlflow server` process (SQLite backend, proxied local artifacts) on a
free localhost port: only the tracking URI changes, as it would for the production server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.orchestration.training_resources import MlflowTracking
from energy_pipeline_tests.conftest import copy_exports
from energy_pipeline_tests.dagster_helpers import definitions_for, throwaway_instance
from energy_pipeline_tests.services import free_port
from energy_pipeline_tests.services import mlflow_server as start_mlflow_server

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
        assert {"holdout_r2_log", "interval_log_halfwidth"} <= set(run.data.metrics)
    assert not (tmp_path / "mlflow").exists()  # nothing fell back to a local store
