"""The evaluation protocol, the project's yardstick: the same grouped splits and metrics for every candidate.

A building appears once per data year; a model that saw it in 2015 "predicts" it in 2016 by memory. So every
split groups rows by building id: a building is entirely in training or entirely in evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import (
    make_scorer,
    mean_absolute_error,
    mean_absolute_percentage_error,
    r2_score,
    root_mean_squared_error,
)
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

CV_SEEDS: tuple[int, ...] = (42, 43, 44)
CV_FOLDS = 5
HOLDOUT_SHARE = 0.2
HOLDOUT_SEED = 42

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Protocol:
    folds: int = CV_FOLDS
    seeds: tuple[int, ...] = CV_SEEDS

    def splits(self, groups: Sequence[object] | np.ndarray) -> list[Split]:
        """folds x len(seeds) shuffled, grouped splits; deterministic for the same groups."""
        groups = np.asarray(groups)
        placeholder = np.zeros(len(groups))
        return [
            (train, test)
            for seed in self.seeds
            for train, test in GroupKFold(n_splits=self.folds, shuffle=True, random_state=seed).split(
                placeholder, groups=groups
            )
        ]


def holdout_mask(groups: Sequence[object] | np.ndarray) -> np.ndarray:
    """True for the fixed held-out rows (20% of buildings, seed 42): never seen by tuning, the gate decides on it."""
    groups = np.asarray(groups)
    splitter = GroupShuffleSplit(n_splits=1, test_size=HOLDOUT_SHARE, random_state=HOLDOUT_SEED)
    _, test = next(splitter.split(np.zeros(len(groups)), groups=groups))
    mask = np.zeros(len(groups), dtype=bool)
    mask[test] = True
    return mask


def _original(y_log: np.ndarray) -> np.ndarray:
    return np.expm1(np.asarray(y_log, dtype=float))


def median_ape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.median(np.abs(y_pred - y_true) / np.abs(y_true)))


def score_log_predictions(y_log_true: np.ndarray, y_log_pred: np.ndarray) -> dict[str, float]:
    """Every protocol metric from log1p-scale truth and predictions."""
    y_true, y_pred = _original(y_log_true), _original(y_log_pred)
    return {
        "r2_log": float(r2_score(y_log_true, y_log_pred)),
        "r2": float(r2_score(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "median_ape": median_ape(y_true, y_pred),
        "mape": float(mean_absolute_percentage_error(y_true, y_pred)),
    }


METRICS: tuple[str, ...] = ("r2_log", "r2", "mae", "rmse", "median_ape", "mape")
GREATER_IS_BETTER = {
    "r2_log": True,
    "r2": True,
    "mae": False,
    "rmse": False,
    "median_ape": False,
    "mape": False,
}


def _on_original(metric):
    return lambda y_log_true, y_log_pred: metric(_original(y_log_true), _original(y_log_pred))


# Scorers for GridSearchCV / cross_validate; "r2_log" is the refit metric.
SCORERS = {
    "r2_log": "r2",
    "r2": make_scorer(_on_original(r2_score)),
    "mae": make_scorer(_on_original(mean_absolute_error), greater_is_better=False),
    "rmse": make_scorer(_on_original(root_mean_squared_error), greater_is_better=False),
    "median_ape": make_scorer(_on_original(median_ape), greater_is_better=False),
    "mape": make_scorer(_on_original(mean_absolute_percentage_error), greater_is_better=False),
}


def summarise_cv(cv_scores: Mapping[str, ArrayLike], prefix: str = "test_") -> dict[str, float]:
    """mean and std per metric from cross_validate / cv_results_ arrays (losses turned back positive)."""
    summary: dict[str, float] = {}
    for metric in METRICS:
        values = np.asarray(cv_scores[f"{prefix}{metric}"], dtype=float)
        values = values if GREATER_IS_BETTER[metric] else -values
        summary[f"{metric}_mean"] = float(values.mean())
        summary[f"{metric}_std"] = float(values.std())
    return summary


def log_target(frame: pd.DataFrame, target: str) -> np.ndarray:
    return np.log1p(frame[target].to_numpy(dtype=float))
