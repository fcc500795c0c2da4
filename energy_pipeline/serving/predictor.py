"""Predictions with intervals from the registered pipelines: used by the BentoML service and by the tests.

The pipelines are the exact ones registered in MLflow (read from the MLflow model directory that the Bento
carries, by `mlflow_dir`, without importing MLflow). At load time each is compiled into numpy arrays
(`domain/fast_scoring.py`) and checked against the pipeline on the model's own input example; per request the
validated buildings become column arrays, not a DataFrame, and the endpoint computes the same numbers as training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from energy_pipeline.domain.columns import DATA_YEAR, TARGET_SPECS
from energy_pipeline.domain.fast_scoring import Columns, ForestTexts, Memo, Scorer, compile_model
from energy_pipeline.domain.features import CATEGORICAL_INPUTS, NUMERIC_INPUTS
from energy_pipeline.serving.mlflow_dir import MlflowModelDir
from energy_pipeline.serving.schemas import Building, Estimate, ModelCard, ModelInfo, Prediction


@dataclass(frozen=True)
class ServedModel:
    key: str  # target key: site_energy | ghg_emissions
    card: ModelCard
    estimator: Any
    scorer: Scorer

    @classmethod
    def from_mlflow_dir(
        cls,
        key: str,
        path: Path,
        registered_model: str,
        version: str,
        pipeline: Any = None,
        forest_texts: ForestTexts | None = None,
    ) -> ServedModel:
        """`pipeline`: the directory's fitted pipeline when the caller already holds it, else it is read from the
        directory; `forest_texts`: those an earlier compile of it wrote (`compile_model`)."""
        logged = MlflowModelDir.read(path)
        metadata = logged.metadata
        estimator = logged.load_sklearn() if pipeline is None else pipeline
        scorer = compile_model(estimator, logged.input_example(), forest_texts)
        card = ModelCard(
            registered_model=registered_model,
            version=version,
            run_id=logged.run_id,
            winner=str(metadata.get("winner", "")),
            unit=str(metadata.get("unit", "")),
            data_years=[str(y) for y in metadata.get("data_years", [])],
            holdout_metrics=metadata.get("holdout_metrics", {}),
            cv_metrics=metadata.get("cv_metrics", {}),
            interval_log_halfwidth=float(metadata["interval_log_halfwidth"]),
            interval_coverage=float(metadata.get("interval_coverage", 0.8)),
            scoring=f"{scorer.kind}: {scorer.detail}",
        )
        return cls(key=key, card=card, estimator=estimator, scorer=scorer)

    def estimates(self, columns: Columns, memo: Memo) -> list[Estimate]:
        predicted = np.maximum(self.scorer.predict(columns, memo), 0.0)
        halfwidth = self.card.interval_log_halfwidth
        bounds = np.expm1(np.log1p(predicted)[:, None] + np.array([-halfwidth, halfwidth]))  # both bounds at once
        lower, upper = np.maximum(bounds[:, 0], 0.0), bounds[:, 1]
        return [
            Estimate(prediction=p, lower_80=lo, upper_80=hi)
            for p, lo, hi in zip(predicted.tolist(), lower.tolist(), upper.tolist(), strict=True)
        ]


class Predictor:
    def __init__(self, models: dict[str, ServedModel]) -> None:
        missing = {t.key for t in TARGET_SPECS} - set(models)
        if missing:
            raise ValueError(f"no served model for {sorted(missing)}")
        self.models = models
        self.default_year = max(int(y) for m in models.values() for y in m.card.data_years or ["2016"])
        self.versions = {m.card.registered_model: m.card.version for m in models.values()}

    def columns(self, buildings: Sequence[Building]) -> dict[str, np.ndarray]:
        """Validated buildings as the model's raw input columns (what `model_inputs` makes of a DataFrame): two
        matrices filled at once and handed out column by column, not one array per column."""
        categories = np.empty((len(buildings), len(CATEGORICAL_INPUTS)), dtype=object)
        categories[:] = [[getattr(b, name) for name in CATEGORICAL_INPUTS] for b in buildings]
        categories[:, CATEGORICAL_INPUTS.index("council_district_code")] = [
            str(b.council_district_code) for b in buildings
        ]
        numbers = np.array(  # None becomes NaN
            [[getattr(b, name) for name in NUMERIC_INPUTS] for b in buildings], dtype=float
        ).reshape(len(buildings), len(NUMERIC_INPUTS))
        year = numbers[:, NUMERIC_INPUTS.index(DATA_YEAR)]
        year[np.isnan(year)] = self.default_year
        floors = numbers[:, NUMERIC_INPUTS.index("number_of_floors")]
        floors[floors == 0] = np.nan  # 0 means unknown, as in cleaning
        return {
            **dict(zip(CATEGORICAL_INPUTS, categories.T, strict=True)),
            **dict(zip(NUMERIC_INPUTS, numbers.T, strict=True)),
        }

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            models={key: model.card for key, model in self.models.items()},
            input_schema=Building.model_json_schema(),
        )

    def predict(self, buildings: Sequence[Building]) -> list[Prediction]:
        columns, memo = self.columns(buildings), {}  # one memo: both targets' models share their common steps
        energy = self.models["site_energy"].estimates(columns, memo)
        ghg = self.models["ghg_emissions"].estimates(columns, memo)
        return [
            Prediction(site_energy_use_kbtu=e, total_ghg_emissions_t_co2e=g, model_versions=self.versions)
            for e, g in zip(energy, ghg, strict=True)
        ]
