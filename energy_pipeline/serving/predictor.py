"""Predictions with intervals from the registered pipelines: used by the BentoML service and by the tests.

Per request: one DataFrame from the validated buildings and one `predict` per target. The pipelines are the
exact ones registered in MLflow (loaded from the MLflow model directory that the Bento carries), so the
endpoint computes the same features as training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import Model

from energy_pipeline.domain.columns import TARGET_SPECS
from energy_pipeline.domain.features import model_inputs
from energy_pipeline.serving.schemas import Building, Estimate, ModelCard, ModelInfo, Prediction


@dataclass(frozen=True)
class ServedModel:
    key: str  # target key: site_energy | ghg_emissions
    card: ModelCard
    estimator: Any

    @classmethod
    def from_mlflow_dir(cls, key: str, path: Path, registered_model: str, version: str) -> ServedModel:
        metadata = Model.load(str(path)).metadata or {}
        card = ModelCard(
            registered_model=registered_model,
            version=version,
            winner=str(metadata.get("winner", "")),
            unit=str(metadata.get("unit", "")),
            data_years=[str(y) for y in metadata.get("data_years", [])],
            holdout_metrics=metadata.get("holdout_metrics", {}),
            cv_metrics=metadata.get("cv_metrics", {}),
            interval_log_halfwidth=float(metadata["interval_log_halfwidth"]),
            interval_coverage=float(metadata.get("interval_coverage", 0.8)),
        )
        return cls(key=key, card=card, estimator=mlflow.sklearn.load_model(str(path)))

    def estimates(self, frame: pd.DataFrame) -> list[Estimate]:
        predicted = np.clip(np.asarray(self.estimator.predict(frame), dtype=float), 0.0, None)
        log_predicted, halfwidth = np.log1p(predicted), self.card.interval_log_halfwidth
        lower, upper = np.expm1(log_predicted - halfwidth).clip(min=0.0), np.expm1(log_predicted + halfwidth)
        return [
            Estimate(prediction=float(p), lower_80=float(lo), upper_80=float(hi))
            for p, lo, hi in zip(predicted, lower, upper, strict=True)
        ]


class Predictor:
    def __init__(self, models: dict[str, ServedModel]) -> None:
        missing = {t.key for t in TARGET_SPECS} - set(models)
        if missing:
            raise ValueError(f"no served model for {sorted(missing)}")
        self.models = models
        self.default_year = max(int(y) for m in models.values() for y in m.card.data_years or ["2016"])
        self.versions = {m.card.registered_model: m.card.version for m in models.values()}

    def frame(self, buildings: Sequence[Building]) -> pd.DataFrame:
        rows = pd.DataFrame([b.model_dump() for b in buildings])
        rows["data_year"] = rows["data_year"].fillna(self.default_year)
        rows["number_of_floors"] = rows["number_of_floors"].replace(0, np.nan)  # 0 means unknown, as in cleaning
        return model_inputs(rows)

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            models={key: model.card for key, model in self.models.items()},
            input_schema=Building.model_json_schema(),
        )

    def predict(self, buildings: Sequence[Building]) -> list[Prediction]:
        frame = self.frame(buildings)
        energy = self.models["site_energy"].estimates(frame)
        ghg = self.models["ghg_emissions"].estimates(frame)
        return [
            Prediction(site_energy_use_kbtu=e, total_ghg_emissions_t_co2e=g, model_versions=self.versions)
            for e, g in zip(energy, ghg, strict=True)
        ]
