"""The production instance run for real: `deploy/dagster.yaml` as written (Postgres storage, the queued run
coordinator and its concurrency limits, run monitoring and retries, compute logs in S3) except the run launcher
(ECS is out of reach: Dagster's default launcher in its place), with `dagster-daemon` and `dagster-webserver`
started on it and the code location in production mode: exports and asset values in S3 (moto's server), MLflow
on a Postgres backend with S3 artifacts.

What happens is what production does: the landing sensor ingests the export dropped in S3, declarative automation
asks for training once the year's checks pass, and a person asks for `training_job` at the same time through the
webserver's GraphQL API; the training pool lets one training run at a time.

Cost: about 4-6 minutes on 2 cores (sensor and automation ticks are a minute apart; two trainings on one year).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.storage.tags import SENSOR_NAME_TAG
from dagster_graphql import DagsterGraphQLClient

from energy_pipeline.operations.defs import automation_sensor
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline_tests.conftest import export_path
from energy_pipeline_tests.support.services import (
    AWS_TEST_CREDENTIALS,
    free_port,
    moto_server,
    postgres_binaries,
    postgres_server,
    running_server,
    venv_tool,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(postgres_binaries() is None, reason="PostgreSQL is not installed (`make test-services`)"),
]

YEAR = 2016
BUCKETS = {"landing": "ep-landing", "io": "ep-io", "logs": "ep-compute-logs", "mlflow": "ep-mlflow-artifacts"}
TRAINING = dg.AssetKey("training_data")
MODELS = ("energy-pipeline-site-energy", "energy-pipeline-ghg-emissions")
INSTANCE_VARIABLES = (
    *(f"DAGSTER_PG_{part}" for part in ("HOST", "PORT", "USER", "PASSWORD", "DB")),
    "DAGSTER_COMPUTE_LOG_BUCKET",
)
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _instance_yaml(home: Path) -> None:
    """`deploy/dagster.yaml` with Dagster's default run launcher in place of ECS; nothing else changed."""
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    assert config.pop("run_launcher")["class"] == "EcsRunLauncher"
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("production")
    home = root / "dagster_home"
    home.mkdir()
    _instance_yaml(home)
    with moto_server(root) as s3, postgres_server(("dagster", "mlflow")) as postgres:
        aws = {**AWS_TEST_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
        client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1", **_boto_credentials(aws))
        for bucket in BUCKETS.values():
            client.create_bucket(Bucket=bucket)
        client.put_object(
            Bucket=BUCKETS["landing"], Key=f"exports/{export_path(YEAR).name}", Body=export_path(YEAR).read_bytes()
        )
        host, port = postgres.removeprefix("postgresql://postgres@").split(":")
        mlflow_port, web_port = free_port(), free_port()
        environment = {
            **os.environ,
            **aws,
            "AWS_ENDPOINT_URL_S3": s3,  # boto3's own setting: the instance's S3 compute logs find moto through it
            "MLFLOW_S3_ENDPOINT_URL": s3,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": host,
            "DAGSTER_PG_PORT": port,
            "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": "dagster",
            "DAGSTER_COMPUTE_LOG_BUCKET": BUCKETS["logs"],
            "ENERGY_PIPELINE_ENV": "prod",
            "ENERGY_PIPELINE_LANDING_S3_URL": f"s3://{BUCKETS['landing']}/exports/",
            "ENERGY_PIPELINE_IO_BUCKET": BUCKETS["io"],
            "ENERGY_PIPELINE_S3_ENDPOINT_URL": s3,
            "ENERGY_PIPELINE_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
            "ENERGY_PIPELINE_ECR_REGION": "us-east-1",
            "ENERGY_PIPELINE_ARTIFACTS_DIR": str(root / "artifacts"),
            "BENTOML_HOME": str(root / "bentoml"),
        }
        mlflow_args = [
            venv_tool("mlflow"),
            "server",
            "--backend-store-uri",
            f"{postgres}/mlflow",
            "--artifacts-destination",
            f"s3://{BUCKETS['mlflow']}/",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
        ]
        web_args = [venv_tool("dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-m", "energy_pipeline"]
        daemon_args = [venv_tool("dagster-daemon"), "run", "-m", "energy_pipeline"]
        with (
            running_server(mlflow_args, root / "mlflow.log", "/health", mlflow_port, env=environment),
            running_server(web_args, root / "webserver.log", "/server_info", web_port, env=environment),
            _daemon(daemon_args, root / "daemon.log", environment),
            pytest.MonkeyPatch.context() as patch,
        ):
            for key in INSTANCE_VARIABLES:  # this process reads the same instance
                patch.setenv(key, environment[key])
            with dg.DagsterInstance.from_config(str(home)) as instance:
                yield {
                    "instance": instance,
                    "graphql": DagsterGraphQLClient("127.0.0.1", port_number=web_port),
                    "s3": client,
                    "postgres": postgres,
                    "logs": root,
                }


def _boto_credentials(aws: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": aws["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": aws["AWS_SESSION_TOKEN"],
    }


@contextmanager
def _daemon(args: list[str], log: Path, environment: dict[str, str]) -> Iterator[None]:
    """`dagster-daemon run` for the module: sensors, schedules, automation and the run queue."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            args, env=environment, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=60)


def _records(instance: dg.DagsterInstance) -> list[Any]:
    return list(instance.get_run_records())


def _trains(record: Any) -> bool:
    run = record.dagster_run
    return run.job_name == "training_job" or TRAINING in (run.asset_selection or set())


def _from_automation(record: Any) -> bool:
    return record.dagster_run.tags.get(SENSOR_NAME_TAG) == automation_sensor.name


def _wait(stack: dict[str, Any], what: str, done: Any, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = _records(stack["instance"])
        if done(records):
            return records
        time.sleep(2)
    daemon = (stack["logs"] / "daemon.log").read_text()[-4000:]
    runs = [
        (r.dagster_run.job_name, r.dagster_run.status.value, r.dagster_run.tags) for r in _records(stack["instance"])
    ]
    raise AssertionError(f"{what}: not within {timeout:.0f} s\nruns: {runs}\ndaemon log:\n{daemon}")


@pytest.fixture(scope="module")
def trainings(stack: dict[str, Any]) -> list[Any]:
    """The export is ingested by the landing sensor, automation asks for training once its checks passed, and a
    person asks for `training_job` while that training is on. Returns every run once the trainings finished."""
    instance = stack["instance"]

    def ingested(records: list[Any]) -> bool:
        ingests = [r for r in records if r.dagster_run.job_name == "ingest_job"]
        failed = [r for r in ingests if r.dagster_run.status == dg.DagsterRunStatus.FAILURE]
        assert not failed, [instance.get_run_by_id(r.dagster_run.run_id).tags for r in failed]
        return any(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in ingests)

    _wait(stack, "the landing sensor's ingest run", ingested, timeout=240)
    _wait(stack, "automation's training run", lambda rs: any(_from_automation(r) and _trains(r) for r in rs), 240)
    stack["graphql"].submit_job_execution("training_job")  # a person asks too, while automation's run trains
    return _wait(
        stack,
        "every training run to finish",
        lambda rs: all(r.dagster_run.status in FINISHED for r in rs if _trains(r)),
        timeout=900,
    )


def test_training_requests_from_a_person_and_from_automation_run_one_after_the_other(trainings: list[Any]) -> None:
    runs = sorted((r for r in trainings if _trains(r)), key=lambda r: r.start_time or 0)
    assert len(runs) >= 2 and any(map(_from_automation, runs)) and any(not _from_automation(r) for r in runs)
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs), [
        (r.dagster_run.job_name, r.dagster_run.status) for r in runs
    ]
    for earlier, later in itertools.pairwise(runs):
        assert later.start_time >= earlier.end_time, "two training runs were in progress at once"
    # the person's request came while automation's training was on: it waited in the queue, then ran
    automated = next(r for r in runs if _from_automation(r))
    asked = next(r for r in runs if r.dagster_run.job_name == "training_job")
    assert asked.create_timestamp.timestamp() < automated.end_time <= asked.start_time


def test_runs_events_and_automation_state_land_in_postgres(stack: dict[str, Any], trainings: list[Any]) -> None:
    with psycopg2.connect(f"{stack['postgres']}/dagster") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs")
        assert cursor.fetchone()[0] >= len(trainings) >= 3  # the ingest and the trainings, at least
        cursor.execute("SELECT count(*) FROM event_logs")
        assert cursor.fetchone()[0] > 100
        cursor.execute("SELECT count(*) FROM job_ticks")  # sensor and automation ticks
        assert cursor.fetchone()[0] > 0
        cursor.execute("SELECT job_body FROM jobs")  # instigator states: sensors and the schedule
        states = " ".join(row[0] for row in cursor.fetchall())
    assert all(name in states for name in ("landing_files_sensor", automation_sensor.name))


def test_asset_values_and_compute_logs_land_in_s3(stack: dict[str, Any], trainings: list[Any]) -> None:
    def keys(bucket: str) -> set[str]:
        pages = stack["s3"].get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    values = keys(BUCKETS["io"])
    assert {f"dagster-io/raw_buildings/{YEAR}", f"dagster-io/cleaned_buildings/{YEAR}", "dagster-io/training_data"} <= (
        values
    )
    logs = keys(BUCKETS["logs"])
    assert logs and all(key.startswith("dagster-compute-logs/") for key in logs)
    trained = [r.dagster_run.run_id for r in trainings if _trains(r)]
    assert all(any(run_id in key for key in logs) for run_id in trained), sorted(logs)[:10]


def test_mlflow_keeps_runs_in_postgres_and_models_in_s3(stack: dict[str, Any], trainings: list[Any]) -> None:
    with psycopg2.connect(f"{stack['postgres']}/mlflow") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name FROM registered_models")
        assert set(MODELS) <= {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM model_versions")
        assert cursor.fetchone()[0] >= 2 * len([r for r in trainings if _trains(r)])
    pages = stack["s3"].get_paginator("list_objects_v2").paginate(Bucket=BUCKETS["mlflow"])
    artifacts = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert any(key.endswith("/MLmodel") for key in artifacts) and any(key.endswith(".skops") for key in artifacts)
