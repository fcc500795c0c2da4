"""Resources of the modelling half: what to search, where MLflow lives, and the champion gate's thresholds."""

from pathlib import Path

import dagster as dg
from pydantic import Field, field_validator

from energy_pipeline.core.columns import DEFAULT_MODEL_PREFIX, registered_model_name
from energy_pipeline.models.candidates import ALL_CANDIDATES, CANDIDATES, DEFAULT_CANDIDATES, STACKING, GridSize
from energy_pipeline.models.gate import GateFloors
from energy_pipeline.models.parallel import release_parallel_workers
from energy_pipeline.models.protocol import CV_FOLDS, CV_SEEDS, Protocol
from energy_pipeline.models.tracking import MlflowSettings, TrainingTracker


class TrainingPolicy(dg.ConfigurableResource):
    """What the candidates assets search. Tests shrink it; a thorough run widens the grids."""

    candidates: list[str] = Field(
        default=list(DEFAULT_CANDIDATES),
        description=f"Candidate names to tune; every one there is: {', '.join(ALL_CANDIDATES)}",
    )
    grid_size: GridSize = Field(default="default", description="How wide each candidate's grid is")
    n_jobs: int = Field(default=2, description="Parallel fits (the reference machine has 2 cores)")
    cv_folds: int = Field(default=CV_FOLDS)
    cv_seeds: list[int] = Field(
        default=list(CV_SEEDS[:1]),
        description="One repetition of the folds per seed. One by default: repeating the folds steadies the means "
        "but triples the search, and the selection rule reads the spread of the folds, not of the repetitions; "
        f"{list(CV_SEEDS)} for a thorough run",
    )
    max_model_mb: float = Field(
        default=50.0, description="A candidate larger than this (pickled, a stacking's members included) cannot win"
    )
    report_2016_protocol: bool = Field(
        default=True, description="Also score the winner's configuration on 2016 alone (comparability figure)"
    )

    @field_validator("candidates")
    @classmethod
    def _known_candidates(cls, names: list[str]) -> list[str]:
        """An unknown name is refused when the code location loads, with the names there are."""
        known = (*CANDIDATES, STACKING)  # the registry as it is now, not as it was imported
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"unknown candidates {unknown}; expected some of {', '.join(known)}")
        if not names:
            raise ValueError(f"no candidate to tune; expected some of {', '.join(known)}")
        return names

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Every step that searches or fits uses this resource: its end releases joblib's workers, or a step
        process of a launched run would wait for them to time out before it could end."""
        release_parallel_workers()

    def protocol(self) -> Protocol:
        return Protocol(folds=self.cv_folds, seeds=tuple(self.cv_seeds))


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking server and registry. Default: a SQLite file and local artifacts inside the project."""

    tracking_uri: str = Field(description="sqlite:///..., http://mlflow:5000, ...")
    artifact_location: str | None = Field(default=None, description="Artifact root for a new experiment")
    registry_uri: str | None = Field(default=None, description="Registry URI when it differs from tracking")
    experiment_name: str = Field(default="energy-pipeline")
    model_name_prefix: str = Field(default=DEFAULT_MODEL_PREFIX, description="Registered model: <prefix>-<target>")

    def model_name(self, target_key: str) -> str:
        return registered_model_name(target_key, self.model_name_prefix)

    def tracker(self) -> TrainingTracker:
        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return TrainingTracker(
            MlflowSettings(
                tracking_uri=self.tracking_uri,
                experiment=self.experiment_name,
                artifact_location=self.artifact_location,
                registry_uri=self.registry_uri,
            )
        )


class ChampionGatePolicy(dg.ConfigurableResource):
    """Floors come from this project's protocol (held-out figures of tuned models: energy R²(log) ≈ 0.69,
    median APE ≈ 0.37; GHG lower); below them a model is not fit to serve, whatever the champion."""

    site_energy_min_r2_log: float = 0.60
    site_energy_max_median_ape: float = 0.45
    ghg_emissions_min_r2_log: float = 0.45
    ghg_emissions_max_median_ape: float = 0.70
    margin: float = Field(default=0.005, description="R²(log) a new model must gain over the champion")

    def floors(self, target_key: str) -> GateFloors:
        return GateFloors(
            min_r2_log=getattr(self, f"{target_key}_min_r2_log"),
            max_median_ape=getattr(self, f"{target_key}_max_median_ape"),
        )


class MonitoringPolicy(dg.ConfigurableResource):
    """When a new year counts as drifted from the champion's training data, or the champion as decayed on it."""

    psi_threshold: float = Field(default=0.25, description="PSI above which a feature counts as shifted")
    max_r2_log_drop: float = Field(
        default=0.10, description="Largest fall of R²(log) on a new year below the champion's held-out score"
    )
