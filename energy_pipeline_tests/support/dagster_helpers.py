"""Building the real Definitions against a test's own folders and reading back what a run did."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from energy_pipeline.definitions import build_definitions
from energy_pipeline.orchestration.data_resources import ArtifactStore, LandingZone
from energy_pipeline.orchestration.training_resources import MlflowTracking, TrainingPolicy


def definitions_for(landing_dir: Path, artifacts_dir: Path, **resources: object) -> dg.Definitions:
    """The real Definitions on a test's folders; MLflow goes to a temp store unless a test passes its own."""
    mlflow_dir = artifacts_dir.parent / "mlflow"
    return build_definitions(
        {
            "landing": LandingZone(directory=str(landing_dir)),
            "artifacts": ArtifactStore(directory=str(artifacts_dir)),
            "mlflow": MlflowTracking(
                tracking_uri=f"sqlite:///{mlflow_dir / 'mlflow.db'}",
                artifact_location=str(mlflow_dir / "runs"),
            ),
            "training": TrainingPolicy(
                candidates=["ridge"], grid_size="tiny", cv_seeds=[42], n_jobs=1, report_2016_protocol=False
            ),
            **resources,
        }
    )


@contextmanager
def throwaway_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A throwaway SQLite instance whose storage (and the IO manager's files) live under tmp_path."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def materialized_partitions(instance: dg.DagsterInstance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(asset)))


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
