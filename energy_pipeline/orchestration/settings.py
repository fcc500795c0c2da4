"""The one place that decides where configuration comes from: an environment variable, else a local default.

Resources receive `EnvVar`s, so a value set in the environment is resolved by Dagster at launch (and shown as
such in the UI) while a fresh clone runs on the embedded defaults below without any variable set.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict[str, str] = {
    "ENERGY_PIPELINE_LANDING_DIR": str(PROJECT_ROOT / "data" / "raw"),
    "ENERGY_PIPELINE_ARTIFACTS_DIR": str(PROJECT_ROOT / "artifacts"),
    "ENERGY_PIPELINE_MLFLOW_TRACKING_URI": f"sqlite:///{PROJECT_ROOT / '.mlflow' / 'mlflow.db'}",
    "ENERGY_PIPELINE_MLFLOW_ARTIFACTS": str(PROJECT_ROOT / ".mlflow" / "artifacts"),
    "ENERGY_PIPELINE_BASE_IMAGE": "python:3.11-slim",  # BentoML's default for Python 3.11
    "ENERGY_PIPELINE_IMAGE_BUILDER": "auto",
    "ENERGY_PIPELINE_ECR_REGION": "",
    "ENERGY_PIPELINE_ECR_REPOSITORY": "energy-pipeline-serving",
    "ENERGY_PIPELINE_ECR_ENDPOINT_URL": "",
    "ENERGY_PIPELINE_RETRAIN_CRON": "0 3 * * 1",  # weekly, Monday 03:00
    "ENERGY_PIPELINE_ALERT_WEBHOOK_URL": "",
    "ENERGY_PIPELINE_S3_ENDPOINT_URL": "",  # S3-compatible endpoint (moto, MinIO); empty: AWS
}
ENVIRONMENTS = ("local", "prod")


@dataclass(frozen=True)
class RequiredVariable:
    """A variable production cannot run without, and the form its value must have."""

    name: str
    pattern: str
    expected: str  # said to whoever set it wrong


# Checked when the prod code location loads: a run must not discover a missing bucket an hour in.
PROD_REQUIRED = (
    RequiredVariable(
        "ENERGY_PIPELINE_LANDING_S3_URL", r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?", "s3://bucket/prefix/"
    ),
    RequiredVariable("ENERGY_PIPELINE_IO_BUCKET", r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name"),
    RequiredVariable("ENERGY_PIPELINE_MLFLOW_TRACKING_URI", r"https?://\S+", "the MLflow server, http(s)://host:port"),
    RequiredVariable("ENERGY_PIPELINE_ECR_REGION", r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region, e.g. us-west-2"),
)


class ProductionConfigError(ValueError):
    """Raised while the prod code location loads; its message names every variable at fault."""


def check_prod_environment(variables: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Every required production variable set and well formed, or one error that names each one at fault."""
    faults = []
    for variable in PROD_REQUIRED:
        value = variables.get(variable.name, "")
        if not value:
            faults.append(f"{variable.name} is not set (expected {variable.expected})")
        elif not re.fullmatch(variable.pattern, value):
            faults.append(f"{variable.name}={value!r} is malformed (expected {variable.expected})")
    if faults:
        raise ProductionConfigError("ENERGY_PIPELINE_ENV=prod, but " + "; ".join(faults))


def setting(name: str) -> str | dg.EnvVar:
    """`EnvVar(name)` when the variable is set, otherwise the embedded default."""
    return dg.EnvVar(name) if name in os.environ else DEFAULTS[name]


def resolved(name: str) -> str:
    """The value itself, for what Dagster needs at load time (a schedule's cron cannot be an EnvVar)."""
    return os.environ.get(name, DEFAULTS[name])


def environment() -> str:
    """`ENERGY_PIPELINE_ENV`: local (embedded defaults) or prod (S3, MLflow server, ECR, automation on)."""
    name = os.environ.get("ENERGY_PIPELINE_ENV", "local")
    if name not in ENVIRONMENTS:
        raise ValueError(f"ENERGY_PIPELINE_ENV={name!r}: expected one of {', '.join(ENVIRONMENTS)}")
    return name


def automation_starts_running() -> bool:
    """Locally a person starts sensors and schedules in the UI; in production they run from the first deploy."""
    return environment() == "prod"
