"""The one place that decides where configuration comes from: an environment variable, else a local default.

Resources receive `EnvVar`s, so a value set in the environment is resolved by Dagster at launch (and shown as
such in the UI) while a fresh clone runs on the embedded defaults below without any variable set.
"""

from __future__ import annotations

import os
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
