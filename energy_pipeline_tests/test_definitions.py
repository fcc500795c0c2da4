"""The code location loads, from Python and through the CLI entry points people use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from energy_pipeline import defs
from energy_pipeline.orchestration.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

ASSETS = {
    "raw_buildings",
    "cleaned_buildings",
    "rejected_buildings",
    "buildings_profile",
    "training_data",
    "feature_ablation",
    "site_energy_candidates",
    "site_energy_forward_evaluation",
    "site_energy_model",
    "ghg_emissions_candidates",
    "ghg_emissions_forward_evaluation",
    "ghg_emissions_model",
    "bento",
    "serving_image",
    "ecr_image",
}
DATA_CHECKS = {
    ("raw_buildings", "raw_buildings_schema"),
    ("cleaned_buildings", "cleaned_buildings_schema"),
    ("cleaned_buildings", "cleaned_row_share"),
    ("cleaned_buildings", "rows_accounted_for"),
}
GATE_CHECKS = {
    ("site_energy_model", "site_energy_champion_gate"),
    ("ghg_emissions_model", "ghg_emissions_champion_gate"),
}
MONITORING_CHECKS = {
    ("cleaned_buildings", "cleaned_buildings_drift"),
    ("cleaned_buildings", "champion_performance_on_year"),
}
CHECKS = DATA_CHECKS | GATE_CHECKS | MONITORING_CHECKS


def test_every_asset_check_and_job_resolves() -> None:
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == ASSETS
    assert {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys} == CHECKS
    for name in ("ingest_job", "profile_job", "training_job", "monitoring_job", "ablation_job", "serving_job"):
        assert isinstance(defs.resolve_job_def(name), dg.JobDefinition)
    defs.resolve_all_job_defs()


def test_every_data_quality_check_is_blocking() -> None:
    graph = defs.resolve_asset_graph()
    specs = {spec.name: spec for spec in (graph.get_check_spec(key) for key in graph.asset_check_keys)}
    assert set(specs) == {name for _, name in CHECKS}
    assert all(specs[name].blocking for _, name in DATA_CHECKS)
    assert not any(specs[name].blocking for _, name in MONITORING_CHECKS)  # they warn, they do not stop


def test_automation_schedule_and_sensors_are_registered_and_stopped_locally() -> None:
    assert {s.name for s in defs.sensors} == {
        "landing_files_sensor",
        "champion_changed_sensor",
        "run_failure_alert",
        "retrain_on_new_data",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in defs.sensors)
    (schedule,) = defs.schedules
    assert schedule.job_name == "training_job" and schedule.cron_schedule == "0 3 * * 1"
    graph = defs.resolve_asset_graph()
    automated = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert automated == {
        "buildings_profile",
        "training_data",
        "site_energy_candidates",
        "ghg_emissions_candidates",
        "site_energy_forward_evaluation",
        "ghg_emissions_forward_evaluation",
        "site_energy_model",
        "ghg_emissions_model",
    }


def test_training_reads_only_gated_data() -> None:
    graph = defs.resolve_asset_graph()
    parents = {key.to_user_string() for key in graph.get(dg.AssetKey("training_data")).parent_keys}
    assert parents == {"cleaned_buildings"}
    assert "feature_ablation" not in {
        key.to_user_string() for key in defs.resolve_job_def("training_job").asset_layer.executable_asset_keys
    }


def test_downstream_assets_depend_on_the_gated_ones() -> None:
    graph = defs.resolve_asset_graph()
    parents = {key.to_user_string() for key in graph.get(dg.AssetKey("buildings_profile")).parent_keys}
    assert parents == {"raw_buildings", "cleaned_buildings", "rejected_buildings"}


@pytest.mark.parametrize(
    "target",
    [["-w", "workspace.yaml"], ["-m", "energy_pipeline"]],
    ids=["workspace.yaml", "python-module"],
)
def test_dagster_cli_loads_the_code_location(target: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", *target],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_loading_the_code_location_leaves_the_bentoml_service_alone() -> None:
    """The service module sets process-wide options and middlewares when imported: only serving processes (and
    the step that builds the Bento) may import it, not the code location every run and sensor loads."""
    probe = (
        "import os, sys\nos.environ.pop('OMP_WAIT_POLICY', None)\nimport energy_pipeline\nenergy_pipeline.defs\n"
        "print('energy_pipeline.serving.service' in sys.modules, 'OMP_WAIT_POLICY' in os.environ)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
