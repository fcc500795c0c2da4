"""Every resource the code location gets, per environment: embedded local defaults, or production's AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3PickleIOManager, S3Resource

from energy_pipeline.orchestration.alerting import FailureAlerts
from energy_pipeline.orchestration.data_resources import ArtifactStore, DataQualityPolicy, LandingZone
from energy_pipeline.orchestration.serving_resources import BentoPackaging, EcrRegistry, ImageBuilder
from energy_pipeline.orchestration.settings import check_prod_environment, resolved, setting
from energy_pipeline.orchestration.training_resources import (
    ChampionGatePolicy,
    MlflowTracking,
    MonitoringPolicy,
    TrainingPolicy,
)


def local_resources() -> dict[str, Any]:
    """Embedded defaults: folders, SQLite and the local Bento store; any value can be overridden by env var."""
    return {
        "alerts": FailureAlerts(
            record_file=str(Path(resolved("ENERGY_PIPELINE_ARTIFACTS_DIR")) / "failures.jsonl"),
            webhook_url=setting("ENERGY_PIPELINE_ALERT_WEBHOOK_URL"),
        ),
        "landing": LandingZone(directory=setting("ENERGY_PIPELINE_LANDING_DIR")),
        "artifacts": ArtifactStore(directory=setting("ENERGY_PIPELINE_ARTIFACTS_DIR")),
        "quality": DataQualityPolicy(),
        "training": TrainingPolicy(),
        "mlflow": MlflowTracking(
            tracking_uri=setting("ENERGY_PIPELINE_MLFLOW_TRACKING_URI"),
            artifact_location=setting("ENERGY_PIPELINE_MLFLOW_ARTIFACTS"),
        ),
        "gate": ChampionGatePolicy(),
        "monitoring": MonitoringPolicy(),
        "packaging": BentoPackaging(base_image=setting("ENERGY_PIPELINE_BASE_IMAGE")),
        # read at load, not at launch: a value outside the closed set stops the code location, naming the choices
        "builder": ImageBuilder(backend=resolved("ENERGY_PIPELINE_IMAGE_BUILDER")),  # type: ignore[arg-type]
        "ecr": EcrRegistry(
            region=setting("ENERGY_PIPELINE_ECR_REGION"),
            repository=setting("ENERGY_PIPELINE_ECR_REPOSITORY"),
            endpoint_url=setting("ENERGY_PIPELINE_ECR_ENDPOINT_URL"),
        ),
    }


def prod_resources() -> dict[str, Any]:
    """AWS: exports and asset values in S3, an MLflow server, ECR. A required variable missing or malformed
    fails the code location at load, named (`check_prod_environment`); nothing here has a secret in it."""
    check_prod_environment()
    s3_endpoint = setting("ENERGY_PIPELINE_S3_ENDPOINT_URL") or None
    return {
        **local_resources(),
        "io_manager": S3PickleIOManager(
            s3_resource=S3Resource(endpoint_url=s3_endpoint),
            s3_bucket=dg.EnvVar("ENERGY_PIPELINE_IO_BUCKET"),
            s3_prefix="dagster-io",
        ),
        "landing": LandingZone(s3_url=dg.EnvVar("ENERGY_PIPELINE_LANDING_S3_URL"), s3_endpoint_url=s3_endpoint or ""),
        "mlflow": MlflowTracking(tracking_uri=dg.EnvVar("ENERGY_PIPELINE_MLFLOW_TRACKING_URI")),
        "ecr": EcrRegistry(
            region=dg.EnvVar("ENERGY_PIPELINE_ECR_REGION"),
            repository=setting("ENERGY_PIPELINE_ECR_REPOSITORY"),
        ),
    }


def resources_for(environment: str) -> dict[str, Any]:
    return prod_resources() if environment == "prod" else local_resources()
