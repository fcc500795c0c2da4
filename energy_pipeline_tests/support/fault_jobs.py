"""The training job as a reconstructable target for the fault tests: they run it in other processes (to kill one
with SIGKILL, or to re-execute from failure), so it is rebuilt from these variables, not passed as an object."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from energy_pipeline.orchestration import retries
from energy_pipeline.orchestration.training_resources import MlflowTracking
from energy_pipeline_tests.support.dagster_helpers import definitions_for

LANDING = "FAULTS_LANDING_DIR"
ARTIFACTS = "FAULTS_ARTIFACTS_DIR"
TRACKING_URI = "FAULTS_MLFLOW_TRACKING_URI"
RETRY_BASE_SECONDS = "FAULTS_RETRY_BASE_SECONDS"

# Every step process imports this module to rebuild the job: the same retries and backoff, shorter waits
if os.environ.get(RETRY_BASE_SECONDS):
    retries.BASE_DELAY_SECONDS = float(os.environ[RETRY_BASE_SECONDS])


def fault_definitions() -> dg.Definitions:
    tracking = os.environ.get(TRACKING_URI)
    extra = {"mlflow": MlflowTracking(tracking_uri=tracking)} if tracking else {}
    return definitions_for(Path(os.environ[LANDING]), Path(os.environ[ARTIFACTS]), **extra)


def training_job() -> dg.JobDefinition:
    return fault_definitions().resolve_job_def("training_job")


def ingest_job() -> dg.JobDefinition:
    return fault_definitions().resolve_job_def("ingest_job")


if __name__ == "__main__":
    # `python -m energy_pipeline_tests.support.fault_jobs [RUN_ID]`: one training run on DAGSTER_HOME's instance, or the
    # re-execution of RUN_ID from its failure. Each in a fresh process, as the UI's run launcher does: the steps fork
    # from a forkserver that keeps the environment it started with, so a test process must not start one.
    with dg.DagsterInstance.get() as instance:
        failed_run = sys.argv[1] if len(sys.argv) > 1 else None
        options = dg.ReexecutionOptions.from_failure(failed_run, instance) if failed_run else None
        result = dg.execute_job(dg.reconstructable(training_job), instance=instance, reexecution_options=options)
        sys.exit(0 if result.success else 1)
