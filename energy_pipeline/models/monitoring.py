"""Is a new year still the population the champion learned? Feature drift (PSI) and performance decay.

The champion carries a profile of its training inputs (bin edges and shares per feature), so a new year is
compared with what the model saw, without reloading old data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from energy_pipeline.models.features import CATEGORICAL_INPUTS, NUMERIC_INPUTS, model_inputs
from energy_pipeline.models.training import evaluate_holdout

# data_year always differs between years and is not a drift; the rest is what a building is.
DRIFT_NUMERIC = tuple(c for c in NUMERIC_INPUTS if c != "data_year")
DRIFT_CATEGORICAL = CATEGORICAL_INPUTS
MISSING, OTHER = "(missing)", "(other)"
MAX_CATEGORIES = 30
EPSILON = 1e-4  # a bin empty on one side would make PSI infinite


def _numeric_edges(values: pd.Series, bins: int) -> list[float]:
    present = values.dropna().to_numpy(dtype=float)
    if present.size == 0:
        return []
    return sorted(set(np.quantile(present, np.linspace(0, 1, bins + 1))[1:-1].tolist()))


def _numeric_shares(values: pd.Series, edges: list[float]) -> dict[str, float]:
    present = values.dropna().to_numpy(dtype=float)
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1)
    shares = {f"bin{i}": float(c) / len(values) for i, c in enumerate(counts)}
    shares[MISSING] = float(values.isna().mean())
    return shares


def _categorical_shares(values: pd.Series, categories: list[str]) -> dict[str, float]:
    labels = values.astype("object").where(values.notna(), MISSING).map(str)
    labels = labels.where(labels.isin([*categories, MISSING]), OTHER)
    counts = labels.value_counts(normalize=True)
    return {c: float(counts.get(c, 0.0)) for c in [*categories, OTHER, MISSING]}


def reference_profile(frame: pd.DataFrame, bins: int = 10) -> dict[str, Any]:
    """JSON-ready profile of the training inputs, stored with the model."""
    inputs = model_inputs(frame)
    profile: dict[str, Any] = {"rows": len(inputs), "features": {}}
    for column in DRIFT_NUMERIC:
        edges = _numeric_edges(inputs[column], bins)
        profile["features"][column] = {
            "kind": "numeric",
            "edges": edges,
            "shares": _numeric_shares(inputs[column], edges),
        }
    for column in DRIFT_CATEGORICAL:
        top = inputs[column].dropna().map(str).value_counts().head(MAX_CATEGORIES).index.tolist()
        profile["features"][column] = {
            "kind": "categorical",
            "categories": top,
            "shares": _categorical_shares(inputs[column], top),
        }
    return profile


def population_stability(expected: dict[str, float], actual: dict[str, float]) -> float:
    """PSI = sum((a - e) * ln(a / e)) over the bins: < 0.1 stable, 0.1-0.25 moderate, > 0.25 shifted."""
    keys = sorted(set(expected) | set(actual))
    e = np.clip(np.array([expected.get(k, 0.0) for k in keys]), EPSILON, None)
    a = np.clip(np.array([actual.get(k, 0.0) for k in keys]), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str
    psi: float
    drifted: bool


def feature_drift(profile: dict[str, Any], frame: pd.DataFrame, threshold: float) -> list[FeatureDrift]:
    """PSI of each profiled feature between the champion's training inputs and `frame`, worst first."""
    inputs = model_inputs(frame)
    rows = []
    for column, reference in profile["features"].items():
        if reference["kind"] == "numeric":
            current = _numeric_shares(inputs[column], reference["edges"])
        else:
            current = _categorical_shares(inputs[column], reference["categories"])
        psi = population_stability(reference["shares"], current)
        rows.append(FeatureDrift(column, reference["kind"], round(psi, 4), psi > threshold))
    return sorted(rows, key=lambda r: -r.psi)


@dataclass(frozen=True)
class Decay:
    metrics: dict[str, float]  # the champion's scores on the new rows
    reference_r2_log: float  # its held-out score at training time
    drop: float  # reference - new (positive: worse now)
    seen_in_training: bool  # the year was part of its training data: the new score is optimistic


def performance_decay(
    model: BaseEstimator, frame: pd.DataFrame, target_column: str, reference_r2_log: float, seen: bool
) -> Decay:
    metrics = evaluate_holdout(model, model_inputs(frame), frame[target_column].to_numpy()).metrics
    return Decay(metrics, reference_r2_log, reference_r2_log - metrics["r2_log"], seen)
