"""Predictions with intervals from the registered pipelines: used by the BentoML service and by the tests.

The pipelines are the exact ones registered in MLflow (read from the MLflow model directory that the Bento
carries, by `mlflow_dir`, without importing MLflow). At load time each is compiled into numpy arrays
(`serving/fast_scoring/`) and checked against the pipeline on the model's own input example; per request the
validated buildings become column arrays, not a DataFrame, and the endpoint computes the same numbers as training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from energy_pipeline.core.columns import DATA_YEAR, GHG_EMISSIONS, SITE_ENERGY, TARGET_SPECS
from energy_pipeline.core.limits import GFA_PARTS_TOLERANCE
from energy_pipeline.core.names import ModelKey
from energy_pipeline.data.categories import UnmappedValue, canonical_category
from energy_pipeline.data.row_rules import fill_missing, missing, zeros_as_missing
from energy_pipeline.models.features import CATEGORICAL_INPUTS, MODEL_INPUTS, NUMERIC_INPUTS, USE_TYPES
from energy_pipeline.models.intervals import ConformalIntervals
from energy_pipeline.serving.fast_scoring import Columns, ForestTexts, Memo, Scorer, compile_model
from energy_pipeline.serving.mlflow_dir import MlflowModelDir
from energy_pipeline.serving.schemas import Building, Estimate, ModelCard, ModelInfo, Prediction


@dataclass(frozen=True)
class ServedModel:
    key: str  # target key: site_energy | ghg_emissions
    card: ModelCard
    estimator: Any
    scorer: Scorer
    intervals: ConformalIntervals

    @classmethod
    def from_mlflow_dir(
        cls,
        key: str,
        path: Path,
        registered_model: str,
        version: str,
        pipeline: Any = None,
        forest_texts: ForestTexts | None = None,
        check_rows: pd.DataFrame | None = None,
    ) -> ServedModel:
        """`pipeline`: the directory's fitted pipeline when the caller already holds it, else it is read from the
        directory; `forest_texts`: those an earlier compile of it wrote (`compile_model`); `check_rows`: the real
        rows the fast scorer must agree on with the pipeline (else the model's input example)."""
        logged = MlflowModelDir.read(path)
        metadata = logged.metadata
        estimator = logged.load_sklearn() if pipeline is None else pipeline
        scorer = compile_model(estimator, logged.input_example() if check_rows is None else check_rows, forest_texts)
        intervals = model_intervals(metadata)
        card = ModelCard(
            registered_model=registered_model,
            version=version,
            run_id=logged.run_id,
            winner=str(metadata.get(ModelKey.WINNER, "")),
            unit=str(metadata.get(ModelKey.UNIT, "")),
            data_years=[str(y) for y in metadata.get(ModelKey.DATA_YEARS, [])],
            holdout_metrics=metadata.get(ModelKey.HOLDOUT_METRICS, {}),
            cv_metrics=metadata.get(ModelKey.CV_METRICS, {}),
            interval_log_halfwidth=intervals.pooled,
            interval_log_halfwidths=intervals.by_group,
            interval_coverage=intervals.coverage,
            scoring=f"{scorer.kind}: {scorer.detail}",
            input_categories=metadata.get(ModelKey.INPUT_CATEGORIES, {}),
        )
        return cls(key=key, card=card, estimator=estimator, scorer=scorer, intervals=intervals)

    def estimates(self, columns: Columns, memo: Memo) -> list[Estimate]:
        predicted = np.maximum(self.scorer.predict(columns, memo), 0.0)
        halfwidth = self.intervals.halfwidths(columns[self.intervals.group])
        bounds = np.expm1(np.log1p(predicted)[:, None] + halfwidth[:, None] * INTERVAL_SIDES)  # both at once
        lower, upper = np.maximum(bounds[:, 0], 0.0), bounds[:, 1]
        return [
            Estimate(prediction=p, lower_80=lo, upper_80=hi)
            for p, lo, hi in zip(predicted.tolist(), lower.tolist(), upper.tolist(), strict=True)
        ]


INTERVAL_SIDES = np.array([-1.0, 1.0])


def model_intervals(metadata: dict[str, Any]) -> ConformalIntervals:
    """The registered intervals; a version logged before they were per property type has one pooled width."""
    if ModelKey.INTERVALS in metadata:
        return ConformalIntervals.from_metadata(metadata[ModelKey.INTERVALS])
    return ConformalIntervals(
        coverage=float(metadata.get(ModelKey.INTERVAL_COVERAGE, 0.8)),
        pooled=float(metadata[ModelKey.INTERVAL_LOG_HALFWIDTH]),
    )


# The request fields the row rules read besides the model's inputs.
RULE_FIELDS: tuple[str, ...] = ("epa_property_type",)
CHECKED_CATEGORIES: tuple[str, ...] = (  # zip codes are not checked: a new one is a real place the model can handle
    "building_type",
    "primary_property_type",
    *USE_TYPES,
    "neighborhood",
)


class Predictor:
    def __init__(self, models: dict[str, ServedModel]) -> None:
        missing = {t.key for t in TARGET_SPECS} - set(models)
        if missing:
            raise ValueError(f"no served model for {sorted(missing)}")
        self.models = models
        self.default_year = max(int(y) for m in models.values() for y in m.card.data_years or ["2016"])
        self.versions = {m.card.registered_model: m.card.version for m in models.values()}
        self.accepted = accepted_categories([m.card for m in models.values()])

    def columns(self, buildings: Sequence[Building], field: str = "building") -> dict[str, np.ndarray]:
        """Validated buildings as the model's raw input columns (what `model_inputs` makes of a DataFrame), after
        the harmonisation and missing-value rules training applied to the exports. `field`: the request's name
        for the buildings, for the error's location. Raises pydantic's ValidationError (a 400) naming the field."""
        categories = [*CATEGORICAL_INPUTS, *RULE_FIELDS]
        names = np.empty((len(buildings), len(categories)), dtype=object)
        names[:] = [[getattr(b, name) for name in categories] for b in buildings]
        numbers = np.array(  # None becomes NaN
            [[getattr(b, name) for name in NUMERIC_INPUTS] for b in buildings], dtype=float
        ).reshape(len(buildings), len(NUMERIC_INPUTS))
        year = numbers[:, NUMERIC_INPUTS.index(DATA_YEAR)]
        year[np.isnan(year)] = self.default_year
        columns = {name: numbers[:, i] for i, name in enumerate(NUMERIC_INPUTS)}
        errors: list[InitErrorDetails] = []
        for i, name in enumerate(categories):
            values = names[:, i]
            for row, value in enumerate(values.tolist()):
                if value is not None:
                    try:
                        values[row] = canonical_category(name, value)
                    except UnmappedValue as exc:
                        errors.append(_error(field, len(buildings), row, name, value, exc.reason))
            columns[name] = values
        zeros_as_missing(columns)
        fill_missing(columns)
        errors += rule_errors(columns, self.accepted, field, len(buildings))
        if errors:
            raise ValidationError.from_exception_data("Building", errors)
        return {name: columns[name] for name in MODEL_INPUTS}

    def model_info(self) -> ModelInfo:
        return ModelInfo(
            models={key: model.card for key, model in self.models.items()},
            input_schema=Building.model_json_schema(),
            accepted_categories={name: sorted(values) for name, values in self.accepted.items()},
        )

    def predict(self, buildings: Sequence[Building], field: str = "building") -> list[Prediction]:
        columns, memo = self.columns(buildings, field), Memo()  # one memo: both targets' models share their steps
        energy = self.models[SITE_ENERGY.key].estimates(columns, memo)
        ghg = self.models[GHG_EMISSIONS.key].estimates(columns, memo)
        return [
            Prediction(site_energy_use_kbtu=e, total_ghg_emissions_t_co2e=g, model_versions=self.versions)
            for e, g in zip(energy, ghg, strict=True)
        ]


def rule_errors(
    columns: dict[str, np.ndarray], accepted: dict[str, frozenset[str]], field: str, n: int
) -> list[InitErrorDetails]:
    """What the row rules leave unanswerable: no property type, parts over the total, untrained categories."""
    errors = []
    for row in np.flatnonzero(missing(columns["primary_property_type"])).tolist():
        errors.append(
            _error(
                field,
                n,
                row,
                "primary_property_type",
                None,
                "is required: give primary_property_type, epa_property_type or largest_property_use_type",
            )
        )
    allowed = columns["property_gfa_total"] * (1 + GFA_PARTS_TOLERANCE)
    parking = columns["property_gfa_parking"]
    over = (parking > allowed) | (parking + columns["property_gfa_buildings"] > allowed)
    for row in np.flatnonzero(over).tolist():
        errors.append(
            _error(
                field,
                n,
                row,
                "property_gfa_parking",
                None,
                "(plus property_gfa_buildings) must not exceed property_gfa_total",
            )
        )
    for name, values in accepted.items():
        for row, value in enumerate(columns[name].tolist()):
            if value is not None and value not in values:
                errors.append(
                    _error(
                        field,
                        n,
                        row,
                        name,
                        value,
                        f"is not a value the models were trained on; accepted: {', '.join(sorted(values))}",
                    )
                )
    return errors


def accepted_categories(cards: Sequence[ModelCard]) -> dict[str, frozenset[str]]:
    """The category values every served model was trained on (models registered without that list accept any)."""
    accepted: dict[str, frozenset[str]] = {}
    for name in CHECKED_CATEGORIES:
        known = [frozenset(card.input_categories[name]) for card in cards if name in card.input_categories]
        if known:
            accepted[name] = frozenset.intersection(*known)
    return accepted


def _error(field: str, n: int, row: int, name: str, value: object, reason: str) -> InitErrorDetails:
    loc: tuple[str | int, ...] = (field, name) if n == 1 and field == "building" else (field, row, name)
    message = f"{value!r} {reason}" if value is not None else reason
    return {"type": PydanticCustomError("value_error", message), "loc": loc, "input": value}
