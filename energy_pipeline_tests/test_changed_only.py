"""`energy-pipeline run --changed-only`: with the same exports and the same code nothing after the ingest runs and
no model version is added; a changed export makes the jobs that read it run again, and says why."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline_tests.conftest import copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance

pytestmark = pytest.mark.integration

JOBS = ("ingest_job", "profile_job", "training_job", "monitoring_job")
MODEL = "energy-pipeline-site-energy"
MONITORING = ("cleaned_buildings_drift", "champion_performance_on_year")


def _data_version(instance: dg.DagsterInstance, asset: str, partition: str | None = None) -> str | None:
    record = instance.get_latest_data_version_record(dg.AssetKey(asset), partition_key=partition)
    return None if record is None else (record.asset_materialization.tags or {}).get("dagster/data_version")


def test_unchanged_inputs_skip_every_job_after_the_ingest_and_a_changed_export_reruns(tmp_path: Path) -> None:
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    with throwaway_instance(tmp_path) as instance:
        defs = definitions_for(landing, tmp_path / "artifacts")
        client = MlflowClient(defs.resources["mlflow"].tracking_uri)
        first = run_pipeline(instance, defs, jobs=JOBS, changed_only=True)  # nothing yet: everything runs
        assert all(r.success and not r.fresh for r in first), format_summary(first)
        assert [r.label for r in first] == ["ingest 2015", "profile", "training", "monitor 2015"]
        assert first[2].stale["training_data"] == "never materialized"
        # the ingest met no champion; after training the year is checked again, against the new champion
        at_ingest = {name.split(":")[1]: text for name, _, text in first[0].checks}
        assert all(at_ingest[check].startswith("no champion yet") for check in MONITORING), at_ingest
        monitored = {name.split(":")[1]: text for name, _, text in first[-1].checks}
        assert set(monitored) == set(MONITORING)
        assert not any("no champion" in text for text in monitored.values()), monitored
        versions = len(client.search_model_versions(f"name='{MODEL}'"))
        cleaned_version = _data_version(instance, "cleaned_buildings", "2015")
        model_version = _data_version(instance, "site_energy_model")
        assert versions == 1 and cleaned_version and model_version

        again = run_pipeline(instance, defs, jobs=JOBS, changed_only=True)
        summary = format_summary(again)
        assert [(r.label, r.success, r.fresh) for r in again] == [
            ("ingest 2015", True, False),  # re-read: that is how a changed file would be noticed
            ("profile", True, True),
            ("training", True, True),
        ], summary
        assert "[fresh] training: skipped" in summary
        assert _data_version(instance, "cleaned_buildings", "2015") == cleaned_version  # same bytes, same version
        assert len(client.search_model_versions(f"name='{MODEL}'")) == versions  # no retraining, no new version

        lines = export_path(2015).read_bytes().splitlines(keepends=True)
        (landing / export_path(2015).name).write_bytes(b"".join(lines[:-1]))  # one building fewer
        changed = run_pipeline(instance, defs, jobs=JOBS, changed_only=True)
        assert all(r.success and not r.fresh for r in changed), format_summary(changed)
        assert [r.label for r in changed][-2:] == ["training", "monitor 2015"]
        training = changed[-2]
        assert "cleaned_buildings" in training.stale["training_data"]
        assert "new data version" in training.stale["training_data"]
        assert _data_version(instance, "cleaned_buildings", "2015") != cleaned_version
        assert len(client.search_model_versions(f"name='{MODEL}'")) == versions + 1


def test_without_changed_only_every_job_runs(tmp_path: Path) -> None:
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    with throwaway_instance(tmp_path) as instance:
        defs = definitions_for(landing, tmp_path / "artifacts")
        run_pipeline(instance, defs, jobs=("ingest_job", "profile_job"))
        again = run_pipeline(instance, defs, jobs=("ingest_job", "profile_job"))
        assert [(r.label, r.fresh) for r in again] == [("ingest 2015", False), ("profile", False)]
        assert "buildings_profile" in again[-1].materialized
