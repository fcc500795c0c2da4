"""The modelling half materialized in-process against a real MLflow SQLite store in a temp dir.

One module-scoped instance ingests both real years once; each test then trains with its own policy, and the
assertions query MLflow itself: runs, nested runs, metrics, registered versions, tags and the champion alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.base import BaseEstimator, RegressorMixin

from energy_pipeline.cli import QUIET, run_pipeline
from energy_pipeline.models import candidates as candidate_registry
from energy_pipeline.models.candidates import CandidateSpec
from energy_pipeline.models.features import DEFAULT_GROUPS, model_inputs
from energy_pipeline.orchestration.training_resources import (
    ChampionGatePolicy,
    MlflowTracking,
    TrainingPolicy,
)
from energy_pipeline_tests.conftest import copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import check_results, definitions_for, throwaway_instance

pytestmark = pytest.mark.integration

ENERGY_MODEL = "energy-pipeline-site-energy"
GHG_MODEL = "energy-pipeline-ghg-emissions"
# Floors below any real model (but above a broken one) so the tests control who wins by the margin alone.
LOW_FLOORS = ChampionGatePolicy(
    site_energy_min_r2_log=-1.0,
    site_energy_max_median_ape=10.0,
    ghg_emissions_min_r2_log=-1.0,
    ghg_emissions_max_median_ape=10.0,
    margin=0.01,
)


class BrokenRegressor(RegressorMixin, BaseEstimator):
    """A model family whose fit raises, as a bug in a new candidate would."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> BrokenRegressor:
        raise RuntimeError("simulated training failure")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("never fitted")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dg.DagsterInstance, Path]]:
    root = tmp_path_factory.mktemp("training")
    landing = copy_exports(root / "landing")
    with throwaway_instance(root) as instance:
        reports = run_pipeline(
            instance,
            definitions_for(
                landing,
                root / "artifacts",
                training=TrainingPolicy(
                    candidates=["ridge"],
                    grid_size="tiny",
                    cv_seeds=[42],
                    n_jobs=1,
                    report_2016_protocol=False,
                ),
                mlflow=_mlflow(root),
                gate=LOW_FLOORS,
            ),
            jobs=("ingest_job", "training_job"),
        )
        assert all(r.success for r in reports)
        yield instance, root


def _mlflow(root: Path) -> MlflowTracking:
    return MlflowTracking(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_location=str(root / "mlruns"))


def _train(
    workspace: tuple[dg.DagsterInstance, Path],
    candidates: list[str],
    gate: ChampionGatePolicy = LOW_FLOORS,
    **policy: object,
) -> dg.ExecuteInProcessResult:
    instance, root = workspace
    defs = definitions_for(
        root / "landing",
        root / "artifacts",
        mlflow=_mlflow(root),
        gate=gate,
        training=TrainingPolicy(candidates=candidates, grid_size="tiny", cv_seeds=[42], n_jobs=1, **policy),  # type: ignore[arg-type]
    )
    return defs.resolve_job_def("training_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=QUIET
    )


def _root_cause(error) -> str:
    while error.cause is not None:
        error = error.cause
    return error.message


def _client(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def _champion(client: MlflowClient, name: str) -> str:
    return str(client.get_model_version_by_alias(name, "champion").version)


def test_first_training_registers_and_promotes_both_targets(workspace) -> None:
    _, root = workspace
    client = _client(root)
    for name in (ENERGY_MODEL, GHG_MODEL):
        assert _champion(client, name) == "1"
        version = client.get_model_version(name, "1")
        assert version.tags["gate.decision"] == "promoted"
        assert float(version.tags["interval.log_halfwidth_pooled"]) > 0
        assert int(version.tags["interval.groups"]) >= 3  # property types with their own width
    experiment = client.get_experiment_by_name("energy-pipeline")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    nested = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert sorted(r.data.tags["target"] for r in parents) == ["ghg_emissions", "site_energy"]
    assert {r.data.tags["mlflow.parentRunId"] for r in nested} == {r.info.run_id for r in parents}
    for parent in parents:
        assert parent.data.tags["winner"] == "ridge"
        assert parent.data.tags["dagster_run_id"] and parent.data.tags["code_version"]
        assert {"holdout_r2_log", "holdout_median_ape", "winner_cv_r2_log_mean"} <= set(parent.data.metrics)
        assert parent.data.params["data_years"] == "2015,2016"
        assert len(parent.inputs.dataset_inputs) == 1
        artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "diagnostics")}
        assert "diagnostics/predicted_vs_actual.png" in artifacts
    for run in nested:
        assert run.data.tags["candidate"] == "ridge"
        assert {"cv_r2_log_mean", "cv_r2_log_std", "cv_median_ape_mean", "fit_seconds"} <= set(run.data.metrics)


def test_champion_from_the_registry_predicts_like_the_in_memory_pipeline(workspace) -> None:
    instance, root = workspace
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    registered = mlflow.sklearn.load_model(f"models:/{ENERGY_MODEL}@champion")
    record = instance.get_latest_materialization_event(dg.AssetKey("site_energy_model"))
    assert record is not None
    from energy_pipeline.data.harmonise import harmonise
    from energy_pipeline.data.ingest import read_benchmarking_csv

    raw_rows = model_inputs(harmonise(read_benchmarking_csv(export_path(2016))).head(200))
    defs = definitions_for(root / "landing", root / "artifacts", mlflow=_mlflow(root))
    in_memory = defs.load_asset_value("site_energy_model", instance=instance).model
    np.testing.assert_array_equal(registered.predict(raw_rows), in_memory.predict(raw_rows))
    assert (registered.predict(raw_rows) > 1000).mean() > 0.95  # kBtu per year, not log units


def test_gate_keeps_the_champion_against_worse_and_moves_to_better(workspace) -> None:
    _, root = workspace
    client = _client(root)
    worse = _train(workspace, ["mean_baseline"], gate=ChampionGatePolicy())  # real floors
    assert worse.success
    assert _champion(client, ENERGY_MODEL) == "1"
    version = client.get_model_version(ENERGY_MODEL, "2")
    assert version.tags["gate.decision"] == "not promoted"
    assert "below the floor" in version.tags["gate.reason"]
    check = check_results(worse)["site_energy_champion_gate"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "below the floor" in (check.description or "")

    better = _train(workspace, ["lightgbm"], gate=ChampionGatePolicy(margin=-1.0))  # any sane model beats it
    assert better.success
    assert _champion(client, ENERGY_MODEL) == "3"
    assert client.get_model_version(ENERGY_MODEL, "3").tags["gate.decision"] == "promoted"
    assert check_results(better)["site_energy_champion_gate"].passed


def test_failed_training_leaves_the_champion_and_its_artifacts(workspace, monkeypatch) -> None:
    _, root = workspace
    client = _client(root)
    champion = _champion(client, ENERGY_MODEL)
    champion_run = client.get_model_version(ENERGY_MODEL, champion).run_id
    artifacts_before = sorted(p.relative_to(root) for p in (root / "mlruns").rglob("*") if p.is_file())
    versions_before = len(client.search_model_versions(f"name='{ENERGY_MODEL}'"))
    monkeypatch.setitem(candidate_registry.CANDIDATES, "broken", CandidateSpec("broken", BrokenRegressor))

    failed = _train(workspace, ["broken"])
    assert not failed.success
    errors = [_root_cause(e.step_failure_data.error) for e in failed.all_events if e.is_step_failure]
    assert errors == ["RuntimeError: every candidate failed: broken: RuntimeError: simulated training failure\n"] * 2
    assert _champion(client, ENERGY_MODEL) == champion
    assert len(client.search_model_versions(f"name='{ENERGY_MODEL}'")) == versions_before
    assert client.get_run(champion_run).info.lifecycle_stage == "active"
    artifacts_after = sorted(p.relative_to(root) for p in (root / "mlruns").rglob("*") if p.is_file())
    assert set(artifacts_before) <= set(artifacts_after)
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    assert mlflow.sklearn.load_model(f"models:/{ENERGY_MODEL}@champion").predict(
        model_inputs(pd.DataFrame([{"property_gfa_total": 50000.0}])).fillna({"data_year": 2016})
    ).shape == (1,)


def test_feature_ablation_measures_every_group(workspace) -> None:
    instance, root = workspace
    defs = definitions_for(root / "landing", root / "artifacts", mlflow=_mlflow(root))
    result = defs.resolve_job_def("ablation_job").execute_in_process(instance=instance, run_config=QUIET)
    metadata = result.get_asset_materialization_events()[0].step_materialization_data.materialization.metadata
    for target in ("site_energy", "ghg_emissions"):
        table = metadata[target].value
        for group in DEFAULT_GROUPS:
            assert f"without {group}" in table
        assert "with energy_star" in table and "| reference" in table


def test_two_trainings_on_the_same_data_give_the_same_model_and_scores(workspace) -> None:
    _, root = workspace
    client = _client(root)
    outcomes = []
    for _ in range(2):
        result = _train(workspace, ["ridge", "lightgbm"], gate=ChampionGatePolicy(margin=1.0))  # never promotes
        assert result.success
        outcomes.append(result.output_for_node("site_energy_model"))
    first, second = outcomes
    assert first.winner == second.winner and first.version.version != second.version.version
    assert first.cv == second.cv and first.holdout.metrics == second.holdout.metrics
    runs = [client.get_run(o.version.run_id).data.metrics for o in outcomes]
    assert {k: v for k, v in runs[0].items() if k != "fit_seconds"} == {
        k: v for k, v in runs[1].items() if k != "fit_seconds"
    }
