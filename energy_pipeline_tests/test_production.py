"""Production configuration: the instance config parses, the prod resources load by environment variable alone,
S3 (landing and the IO manager) works against moto's server, and retries catch only transient errors."""

import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster_aws.s3 import S3PickleIOManager, S3Resource

from energy_pipeline.definitions import build_definitions
from energy_pipeline.orchestration import retries
from energy_pipeline.orchestration.concurrency import TRAINING_POOL, TRAINING_TAG, TRAINING_TAG_KEY
from energy_pipeline.orchestration.data_resources import LandingZone
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.orchestration.training_resources import TrainingPolicy
from energy_pipeline_tests.conftest import copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance
from energy_pipeline_tests.support.services import AWS_TEST_CREDENTIALS, moto_server

pytestmark = pytest.mark.integration

DEPLOY = PROJECT_ROOT / "deploy"
PROD_ENV = {
    "ENERGY_PIPELINE_ENV": "prod",
    "ENERGY_PIPELINE_IO_BUCKET": "energy-pipeline-io",
    "ENERGY_PIPELINE_LANDING_S3_URL": "s3://energy-pipeline-landing/exports/",
    "ENERGY_PIPELINE_MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
    "ENERGY_PIPELINE_ECR_REGION": "us-west-2",
}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_TEST_CREDENTIALS.items():
            patch.setenv(key, value)
        with moto_server(tmp_path_factory.mktemp("moto-s3")) as url:
            yield url


def _bucket(endpoint: str, name: str) -> Any:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client


def env_vars_in(text: str) -> set[str]:
    return set(re.findall(r"env:\s*([A-Z][A-Z0-9_]+)", text)) | set(re.findall(r'EnvVar\("([A-Z0-9_]+)"\)', text))


def test_production_instance_config_parses_with_dagsters_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_vars_in((DEPLOY / "dagster.yaml").read_text()):
        monkeypatch.setenv(name, "5432" if name == "DAGSTER_PG_PORT" else "set-by-test")
    config, custom_class = dagster_instance_config(str(DEPLOY), "dagster.yaml")
    assert custom_class is None
    assert config["run_launcher"]["class"] == "EcsRunLauncher"
    assert "postgres" in config["storage"]
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    compose_config, _ = dagster_instance_config(str(DEPLOY / "compose"), "dagster.yaml")
    assert "postgres" in compose_config["storage"]


def _configurable_classes(config: object) -> list[tuple[str, str]]:
    """Every `module:` / `class:` pair of an instance config, at any depth."""
    if isinstance(config, dict):
        found = [(config["module"], config["class"])] if {"module", "class"} <= set(config) else []
        return found + [pair for value in config.values() for pair in _configurable_classes(value)]
    if isinstance(config, list):
        return [pair for value in config for pair in _configurable_classes(value)]
    return []


@pytest.mark.parametrize("config_file", ["dagster.yaml", "compose/dagster.yaml"])
def test_every_class_the_production_instance_names_exists_in_the_installed_dagster(config_file: str) -> None:
    """`dagster.core.run_coordinator` is gone from Dagster: a module path that no longer imports stops the
    instance from starting, which the schema alone does not see."""
    classes = _configurable_classes(yaml.safe_load((DEPLOY / config_file).read_text()))
    for module, name in classes:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
    assert not [module for module, _ in classes if module.startswith("dagster._")]  # no private paths either


def test_trainings_run_one_at_a_time_however_they_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every asset that trains is in the training pool, and production caps each pool at one run in progress: a
    scheduled, a manual and an automation run of training queue behind each other (not by job name, which
    automation's runs do not carry)."""
    for name in env_vars_in((DEPLOY / "dagster.yaml").read_text()):
        monkeypatch.setenv(name, "5432" if name == "DAGSTER_PG_PORT" else "set-by-test")
    for folder in (DEPLOY, DEPLOY / "compose"):
        config, _ = dagster_instance_config(str(folder), "dagster.yaml")
        assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
        assert "run_coordinator" not in config  # Dagster's default, the queued coordinator
        limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
        assert {"key": TRAINING_TAG_KEY, "value": "true", "limit": 1} in limits
    definitions = build_definitions()
    assert definitions.resolve_job_def("training_job").tags == TRAINING_TAG
    automation = next(s for s in definitions.sensors if isinstance(s, dg.AutomationConditionSensorDefinition))
    assert automation.run_tags == TRAINING_TAG
    graph = definitions.resolve_asset_graph()
    training = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).group_name == "models"}
    assert {"training_data", "site_energy_candidates", "ghg_emissions_model", "feature_ablation"} <= training
    assert {key: graph.get(dg.AssetKey(key)).pools for key in training} == {key: {TRAINING_POOL} for key in training}
    others = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name != "models"]
    assert others and all(not graph.get(key).pools for key in others)


def test_every_production_variable_is_documented() -> None:
    readme = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    code = "".join(
        (PROJECT_ROOT / "energy_pipeline" / "orchestration" / name).read_text()
        for name in ("resources.py", "data_resources.py")
    )
    settings = (PROJECT_ROOT / "energy_pipeline" / "orchestration" / "settings.py").read_text()
    names = env_vars_in((DEPLOY / "dagster.yaml").read_text()) | env_vars_in(code)
    names |= set(re.findall(r'"(ENERGY_PIPELINE_[A-Z0-9_]+)"', settings))
    assert {"DAGSTER_PG_PASSWORD", "ENERGY_PIPELINE_IO_BUCKET", "ENERGY_PIPELINE_LANDING_S3_URL"} <= names
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == []


def test_compose_stack_wires_postgres_mlflow_and_dagster() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert {"postgres", "mlflow", "code", "webserver", "daemon"} <= set(compose["services"])
    workspace = yaml.safe_load((DEPLOY / "compose" / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"]["host"] == "code"
    secrets = [line for line in (DEPLOY / "docker-compose.yml").read_text().splitlines() if "PASSWORD:" in line]
    assert secrets and all("${POSTGRES_PASSWORD:?" in line for line in secrets)  # from the environment only


def test_prod_code_location_loads_by_environment_alone() -> None:
    """The same code, switched by ENERGY_PIPELINE_ENV: prod resources, automation running by default."""
    probe = (
        "import dagster as dg\n"
        "from energy_pipeline import defs\n"
        "from dagster_aws.s3 import S3PickleIOManager\n"
        "assert isinstance(defs.resources['io_manager'], S3PickleIOManager)\n"
        "assert defs.resources['landing'].s3_url == dg.EnvVar('ENERGY_PIPELINE_LANDING_S3_URL')\n"
        "assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in defs.sensors)\n"
        "defs.resolve_all_job_defs()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **PROD_ENV}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    bad = subprocess.run(
        [sys.executable, "-c", "import energy_pipeline; energy_pipeline.defs"],
        env={**os.environ, "ENERGY_PIPELINE_ENV": "staging"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "expected one of local, prod" in bad.stderr


def test_landing_in_s3_lists_reads_and_tells_redrops_from_new_data(s3_endpoint: str) -> None:
    client = _bucket(s3_endpoint, "landing")
    client.put_object(Bucket="landing", Key="exports/2015-export.csv", Body=export_path(2015).read_bytes())
    client.put_object(Bucket="landing", Key="exports/notes.txt", Body=b"not an export")
    zone = LandingZone(s3_url="s3://landing/exports/", s3_endpoint_url=s3_endpoint, s3_region="us-east-1")
    first = zone.listing()
    assert list(first) == ["2015"] and first["2015"].location == "s3://landing/exports/2015-export.csv"
    client.put_object(Bucket="landing", Key="exports/2015-export.csv", Body=export_path(2015).read_bytes())
    assert zone.listing()["2015"].digest == first["2015"].digest  # same content again
    location, content = zone.read_year("2015")
    assert content == export_path(2015).read_bytes() and location.startswith("s3://")


def test_ingest_from_s3_through_the_s3_io_manager(s3_endpoint: str, tmp_path: Path) -> None:
    """raw -> cleaned from an S3 landing prefix, asset values pickled to S3 and read back across steps."""
    client = _bucket(s3_endpoint, "pipeline")
    client.put_object(Bucket="pipeline", Key="landing/2016-export.csv", Body=export_path(2016).read_bytes())
    resources = {
        "landing": LandingZone(s3_url="s3://pipeline/landing/", s3_endpoint_url=s3_endpoint, s3_region="us-east-1"),
        "io_manager": S3PickleIOManager(
            s3_resource=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
            s3_bucket="pipeline",
            s3_prefix="dagster-io",
        ),
    }
    with throwaway_instance(tmp_path) as instance:
        instance.add_dynamic_partitions("data_years", ["2016"])
        defs = definitions_for(copy_exports(tmp_path / "unused", years=()), tmp_path / "artifacts", **resources)
        result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, partition_key="2016")
        assert result.success
        keys = {o["Key"] for o in client.list_objects_v2(Bucket="pipeline", Prefix="dagster-io/")["Contents"]}
        assert {"dagster-io/raw_buildings/2016", "dagster-io/cleaned_buildings/2016"} <= keys
        cleaned = defs.load_asset_value("cleaned_buildings", instance=instance, partition_key="2016")
        assert len(cleaned) == result.output_for_node("cleaned_and_rejected_buildings", "cleaned_buildings").shape[0]


def test_transient_errors_are_retried_with_backoff_and_others_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries, "BASE_DELAY_SECONDS", 0.01)
    attempts = {"flaky": 0, "broken": 0}

    @dg.asset
    def flaky(context: dg.AssetExecutionContext) -> int:
        attempts["flaky"] += 1
        with retries.transient_errors_retried(context):
            if attempts["flaky"] < 3:
                raise ConnectionError("MLflow server not reachable")
        return attempts["flaky"]

    @dg.asset
    def broken(context: dg.AssetExecutionContext) -> int:
        attempts["broken"] += 1
        with retries.transient_errors_retried(context):
            raise ValueError("estimator exploded")

    assert dg.materialize([flaky]).output_for_node("flaky") == 3
    assert not dg.materialize([broken], raise_on_error=False).success
    assert attempts["broken"] == 1
    assert [retries.backoff_seconds(n) for n in range(3)] == [0.01, 0.02, 0.04]


def test_transient_classification() -> None:
    from mlflow.exceptions import MlflowException

    assert retries.is_transient(MlflowException("API request failed: Max retries exceeded with url"))
    assert not retries.is_transient(MlflowException("RESOURCE_DOES_NOT_EXIST: no such model"))
    wrapped = RuntimeError("push failed")
    wrapped.__cause__ = subprocess.CalledProcessError(1, ["buildah", "push"])
    assert retries.is_transient(wrapped) and not retries.is_transient(KeyError("x"))


def _validate(variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`dagster definitions validate` as a deploy runs it, with only `variables` of the production ones set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_PIPELINE_")}
    dagster = Path(sys.executable).with_name("dagster")
    with tempfile.TemporaryDirectory() as home:  # an instance folder of its own, as a fresh deploy has
        return subprocess.run(
            [str(dagster), "definitions", "validate", "-m", "energy_pipeline"],
            env={**environment, "DAGSTER_HOME": home, **variables},
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        )


def test_prod_code_location_refuses_to_load_and_names_each_missing_or_malformed_variable() -> None:
    """The promise of the docs: a deploy with a variable missing stops at load, not an hour into a run."""
    missing = _validate({"ENERGY_PIPELINE_ENV": "prod"})
    assert missing.returncode != 0
    for name in ("LANDING_S3_URL", "IO_BUCKET", "MLFLOW_TRACKING_URI", "ECR_REGION"):
        assert f"ENERGY_PIPELINE_{name} is not set" in missing.stderr + missing.stdout
    malformed = _validate({**PROD_ENV, "ENERGY_PIPELINE_LANDING_S3_URL": "energy-pipeline-landing/exports"})
    assert malformed.returncode != 0
    output = malformed.stderr + malformed.stdout
    assert "ENERGY_PIPELINE_LANDING_S3_URL='energy-pipeline-landing/exports' is malformed" in output
    assert "ENERGY_PIPELINE_IO_BUCKET" not in output  # only what is wrong is named
    complete = _validate(PROD_ENV)
    assert complete.returncode == 0, complete.stderr[-2000:]
    assert "Validation successful" in complete.stderr + complete.stdout


def test_a_value_outside_a_closed_set_stops_the_code_location_naming_the_choices() -> None:
    wrong_builder = _validate({"ENERGY_PIPELINE_IMAGE_BUILDER": "podman"})
    assert wrong_builder.returncode != 0
    assert "Input should be 'auto', 'docker', 'buildah' or 'none'" in wrong_builder.stderr + wrong_builder.stdout


def test_training_policy_refuses_unknown_grids_and_candidates_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Input should be 'tiny', 'default' or 'full'"):
        TrainingPolicy(grid_size="huge")
    with pytest.raises(ValueError, match=r"unknown candidates \['svm'\]; expected some of mean_baseline, ridge"):
        TrainingPolicy(candidates=["ridge", "svm"])
    with pytest.raises(ValueError, match="no candidate to tune"):
        TrainingPolicy(candidates=[])
    assert TrainingPolicy(candidates=["ridge"], grid_size="tiny").grid_size == "tiny"
