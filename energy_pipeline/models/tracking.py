"""MLflow tracking and registry for the training assets: runs, the registered versions and the champion alias.

Plain MLflow, no Dagster: any tracking URI works (a local SQLite file by default, an `mlflow server` with
Postgres and S3 in production). Nothing here ever deletes a run, a version or an artifact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import skops.io
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from energy_pipeline.models.gate import GateDecision
from energy_pipeline.models.training import CandidateResult, HoldoutEvaluation

CHAMPION = "champion"
# Real training rows logged with each registered winner: what serving checks its compiled scorer against.
CHECK_ROWS_ARTIFACT = "serving/check_rows.json"
CHECK_ROW_COUNT = 200


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str
    experiment: str
    artifact_location: str | None = None
    registry_uri: str | None = None


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    model_uri: str


def lost_insert_race(error: MlflowException) -> bool:
    """Two steps logging the same new dataset at once: the store's check-then-insert lets one of them fail.

    Both targets train on the same cleaned data (one dataset, one digest), and an `mlflow server` with several
    workers checks for an existing dataset before inserting it, so the slower step hits the unique constraint.
    """
    return (
        "UNIQUE constraint failed" in str(error)
        or "duplicate key value" in str(error)
        or (error.error_code == "RESOURCE_ALREADY_EXISTS")
    )


class TrainingTracker:
    """One object per training of one target; sets MLflow's global URIs when created."""

    def __init__(self, settings: MlflowSettings) -> None:
        self.settings = settings
        mlflow.set_tracking_uri(settings.tracking_uri)
        if settings.registry_uri:
            mlflow.set_registry_uri(settings.registry_uri)
        self.client = MlflowClient(settings.tracking_uri, settings.registry_uri)
        self.experiment_id = self._experiment_id()

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.settings.experiment)
        if experiment is not None:
            return experiment.experiment_id
        location = self.settings.artifact_location
        if location and "://" not in location:
            Path(location).mkdir(parents=True, exist_ok=True)
            location = Path(location).resolve().as_uri()
        try:
            return self.client.create_experiment(self.settings.experiment, artifact_location=location)
        except MlflowException as error:
            # both targets' steps start at once on a fresh store: the other one may have created it first
            experiment = self.client.get_experiment_by_name(self.settings.experiment)
            if experiment is None or not lost_insert_race(error):
                raise
            return experiment.experiment_id

    @contextmanager
    def run(self, name: str, tags: dict[str, str], run_id: str | None = None) -> Iterator[mlflow.ActiveRun]:
        """A parent run, or the existing one when `run_id` is given (the selection asset resumes it)."""
        if run_id is not None:
            with mlflow.start_run(run_id=run_id) as run:
                yield run
            return
        with mlflow.start_run(experiment_id=self.experiment_id, run_name=name, tags=tags) as run:
            yield run

    def log_training_data(self, frame: pd.DataFrame, target: str, digest: str, years: list[str]) -> None:
        dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]  # re-exported lazily by mlflow.data
            frame, name="cleaned_buildings", targets=target, digest=digest
        )
        try:
            mlflow.log_input(dataset, context="training")
        except MlflowException as error:
            if not lost_insert_race(error):
                raise
            mlflow.log_input(dataset, context="training")  # the dataset exists now: this only links it
        mlflow.log_params({"data_years": ",".join(years), "training_rows": len(frame), "data_digest": digest})

    def log_candidate(self, result: CandidateResult, tags: dict[str, str]) -> str:
        with mlflow.start_run(
            run_name=result.name,
            nested=True,
            experiment_id=self.experiment_id,
            tags={**tags, "candidate": result.name},
        ) as run:
            mlflow.log_dict({"grid": result.grid, "best_params": result.best_params}, "search.json")
            mlflow.log_params({f"best.{k}": v for k, v in result.best_params.items()} or {"best": "defaults"})
            mlflow.log_param("grid", json.dumps(result.grid, default=str)[:6000])
            if result.ok:
                mlflow.log_metrics({f"cv_{k}": v for k, v in result.cv.items()})
                mlflow.log_metric("fit_seconds", result.fit_seconds)
            if result.cost is not None:
                mlflow.log_metrics(
                    {"serving_size_mb": result.cost.size_mb, "serving_single_row_ms": result.cost.single_row_ms}
                )
                mlflow.set_tag("serving.scorer", result.cost.scorer[:500])
            else:
                mlflow.set_tag("error", (result.error or "")[:5000])
            return run.info.run_id

    def log_and_register(
        self, model: Any, name: str, X_example: pd.DataFrame, metadata: dict[str, Any]
    ) -> RegisteredVersion:
        """Log the winner with signature and input example and register it as a new version of `name`. A sample
        of its real training rows goes with it (`CHECK_ROWS_ARTIFACT`): serving checks its fast scorer on them."""
        signature = infer_signature(X_example, np.asarray(model.predict(X_example)))
        check_rows = X_example.sample(n=min(CHECK_ROW_COUNT, len(X_example)), random_state=0)
        mlflow.log_text(check_rows.to_json(orient="split", index=False), CHECK_ROWS_ARTIFACT)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=X_example.head(3),
            registered_model_name=name,
            metadata=metadata,
            serialization_format="skops",
            skops_trusted_types=trusted_types(model),
        )
        version = str(info.registered_model_version)
        active = mlflow.active_run()
        assert active is not None, "log_and_register runs inside the target's MLflow run"
        run_id = active.info.run_id
        return RegisteredVersion(name=name, version=version, run_id=run_id, model_uri=f"models:/{name}/{version}")

    def champion_version(self, name: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException:
            return None

    def champion_metadata(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """(version, model metadata) of the current champion, or None before the first promotion."""
        version = self.champion_version(name)
        if version is None:
            return None
        return version, mlflow.models.get_model_info(f"models:/{name}/{version}").metadata or {}

    def champion_winner(self, name: str, version: str) -> str:
        """The model family of a registered version (the `winner` tag of the run that logged it)."""
        run_id = self.client.get_model_version(name, version).run_id
        return self.client.get_run(run_id).data.tags.get("winner", "") if run_id else ""

    def version_run_id(self, name: str, version: str) -> str:
        return self.client.get_model_version(name, version).run_id or ""

    def record_decision(self, version: RegisteredVersion, decision: GateDecision, holdout: HoldoutEvaluation) -> None:
        """Tag the version with the gate's verdict; move the alias only when it passed."""
        tags = {
            "gate.decision": "promoted" if decision.promote else "not promoted",
            "gate.reason": decision.reason,
            "holdout.r2_log": f"{holdout.metrics['r2_log']:.6f}",
            "holdout.median_ape": f"{holdout.metrics['median_ape']:.6f}",
            "interval.log_halfwidth_pooled": f"{holdout.intervals.pooled:.6f}",
            "interval.groups": str(len(holdout.intervals.by_group)),
            "interval.coverage": str(holdout.coverage),
        }
        for key, value in tags.items():
            self.client.set_model_version_tag(version.name, version.version, key, value)
        if decision.promote:
            self.client.set_registered_model_alias(version.name, CHAMPION, version.version)


def trusted_types(model: Any) -> list[str]:
    """skops refuses to load types it does not know; we trained this model ourselves, so its types are trusted.
    The list is stored with the model and checked again on load: nothing else can be smuggled in later."""
    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def load_model(model_uri: str) -> Any:
    return mlflow.sklearn.load_model(model_uri)
