"""Configurable resources: where data lands, where artifacts go, and the thresholds of the quality gates."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from energy_pipeline.domain.landing import LandingError, year_files
from energy_pipeline.orchestration.serving_resources import BentoPackaging, EcrRegistry, ImageBuilder
from energy_pipeline.orchestration.settings import setting
from energy_pipeline.orchestration.training_resources import (
    ChampionGatePolicy,
    MlflowTracking,
    TrainingPolicy,
)


class LandingZone(dg.ConfigurableResource):
    """A folder where each year's export lands as `<YEAR>-*.csv`."""

    directory: str = Field(description="Folder holding the yearly benchmarking CSV exports")

    def year_files(self) -> dict[str, str]:
        folder = Path(self.directory)
        names = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        return year_files(names)

    def read_year(self, year: str) -> tuple[str, bytes]:
        """(file name, content) of that year's export."""
        files = self.year_files()
        if year not in files:
            raise LandingError(f"no export for {year} in {self.directory} (found years: {sorted(files)})")
        path = Path(self.directory) / files[year]
        return str(path), path.read_bytes()


class ArtifactStore(dg.ConfigurableResource):
    """Files that people open (plots, reports): kept outside Dagster's storage so they are easy to find."""

    directory: str = Field(description="Folder for plots and reports")

    def folder(self, *parts: str) -> Path:
        path = Path(self.directory, *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


class DataQualityPolicy(dg.ConfigurableResource):
    """Thresholds of the blocking data-quality gates."""

    max_invalid_row_share: float = Field(
        default=0.01,
        description="Share of rows one value rule may fail in a raw file before the file is blocked; "
        "below it those rows are rejected by cleaning",
    )
    min_cleaned_share: float = Field(
        default=0.25, description="Fewest cleaned rows per raw row before a year is treated as a broken file"
    )
    max_cleaned_share: float = Field(
        default=0.80, description="Most cleaned rows per raw row (more means the residential filter broke)"
    )


def local_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "landing": LandingZone(directory=setting("ENERGY_PIPELINE_LANDING_DIR")),
        "artifacts": ArtifactStore(directory=setting("ENERGY_PIPELINE_ARTIFACTS_DIR")),
        "quality": DataQualityPolicy(),
        "training": TrainingPolicy(),
        "mlflow": MlflowTracking(
            tracking_uri=setting("ENERGY_PIPELINE_MLFLOW_TRACKING_URI"),
            artifact_location=setting("ENERGY_PIPELINE_MLFLOW_ARTIFACTS"),
        ),
        "gate": ChampionGatePolicy(),
        "packaging": BentoPackaging(base_image=setting("ENERGY_PIPELINE_BASE_IMAGE")),
        "builder": ImageBuilder(backend=setting("ENERGY_PIPELINE_IMAGE_BUILDER")),
        "ecr": EcrRegistry(
            region=setting("ENERGY_PIPELINE_ECR_REGION"),
            repository=setting("ENERGY_PIPELINE_ECR_REPOSITORY"),
            endpoint_url=setting("ENERGY_PIPELINE_ECR_ENDPOINT_URL"),
        ),
    }
