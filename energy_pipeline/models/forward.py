"""Forward evaluation: the City's question, asked of the past. For each year Y, a configuration is fitted on the
years before Y only, its intervals calibrated on those years' held-out buildings, and it is scored on Y: on all of
Y's buildings, and on the buildings absent from every earlier year (those the City has never measured).

This is the same procedure as the registered model's (fit on the non-held-out rows, calibrate on the held-out
ones), moved back in time, so its figures say what the next year will look like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.intervals import INTERVAL_GROUP, calibrate, novelty_scale
from energy_pipeline.models.protocol import median_ape

# A year is scored forward when at least this many earlier years can train for it: one year alone is a model of
# one vintage of the export, not of the City's history.
MIN_HISTORY_YEARS = 2
Population = Literal["all", "new"]
POPULATIONS: tuple[Population, ...] = ("all", "new")
POOLED = "pooled"
FORWARD_METRICS = ("r2_log", "median_ape", "coverage")  # each scored population's row, per year and pooled


@dataclass(frozen=True)
class ForwardFold:
    """One scored year: which rows fit, which calibrate, which are scored and which of those are new."""

    year: int
    fit: np.ndarray  # boolean masks over the frame's rows
    calibration: np.ndarray
    scored: np.ndarray
    new: np.ndarray  # scored rows whose building is in no earlier year


def forward_folds(years: np.ndarray, buildings: np.ndarray, held_out: np.ndarray) -> list[ForwardFold]:
    """Every year with MIN_HISTORY_YEARS earlier years, oldest first."""
    years, buildings, held_out = np.asarray(years), np.asarray(buildings), np.asarray(held_out, dtype=bool)
    distinct = sorted({int(y) for y in years})
    folds = []
    for year in distinct[MIN_HISTORY_YEARS:]:
        earlier = years < year
        scored = years == year
        seen = np.isin(buildings, buildings[earlier])
        folds.append(
            ForwardFold(
                year=year,
                fit=earlier & ~held_out,
                calibration=earlier & held_out,
                scored=scored,
                new=scored & ~seen,
            )
        )
    return folds


@dataclass(frozen=True)
class FoldPredictions:
    year: int
    y_log: np.ndarray  # the scored year's rows
    pred_log: np.ndarray
    halfwidth: np.ndarray  # per type, as calibrated on the earlier years' held-out buildings
    new: np.ndarray  # among the scored rows

    def new_ratios(self) -> tuple[np.ndarray, np.ndarray]:
        """The new buildings' |residual| and width, for `novelty_scale`."""
        return np.abs(self.y_log - self.pred_log)[self.new], self.halfwidth[self.new]


def _score_fold(
    estimator: BaseEstimator, frame: pd.DataFrame, y_log: np.ndarray, fold: ForwardFold, coverage: float
) -> FoldPredictions:
    X = frame[list(MODEL_INPUTS)]
    model = clone(estimator).fit(X[fold.fit], y_log[fold.fit])
    calibration_pred = np.asarray(model.predict(X[fold.calibration]), dtype=float)
    intervals = calibrate(
        np.abs(y_log[fold.calibration] - calibration_pred), frame.loc[fold.calibration, INTERVAL_GROUP], coverage
    )
    scored = X[fold.scored]
    return FoldPredictions(
        year=fold.year,
        y_log=y_log[fold.scored],
        pred_log=np.asarray(model.predict(scored), dtype=float),
        halfwidth=intervals.halfwidths(scored[INTERVAL_GROUP]),
        new=fold.new[fold.scored],
    )


def scores(y_log: np.ndarray, pred_log: np.ndarray, halfwidth: np.ndarray) -> dict[str, float]:
    """R²(log), median APE in original units, interval coverage and mean half-width (log1p units)."""
    n = len(y_log)
    if n == 0:
        return {"rows": 0}
    residual = y_log - pred_log
    total = float(((y_log - y_log.mean()) ** 2).sum())
    return {
        "rows": n,
        "r2_log": 1.0 - float((residual**2).sum()) / total if total > 0 else float("nan"),
        "median_ape": median_ape(np.expm1(y_log), np.expm1(pred_log)),
        "coverage": float((np.abs(residual) <= halfwidth).mean()),
        "mean_log_halfwidth": float(halfwidth.mean()),
    }


@dataclass(frozen=True)
class ForwardEvaluation:
    """One row per scored year and population, then the pooled rows (`year` == POOLED). `novelty_scale`: over the
    new buildings of every scored year, what the registered model's per-type widths are to be multiplied by."""

    rows: list[dict[str, object]]
    novelty_scale: float

    def pooled(self, population: Population) -> dict[str, object] | None:
        """None when no year had MIN_HISTORY_YEARS earlier years."""
        return next((r for r in self.rows if r["year"] == POOLED and r["population"] == population), None)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.rows[0]) if self.rows else ["year", "population", "rows"])


def _scale_from(earlier: Sequence[FoldPredictions], coverage: float) -> float:
    if not earlier:
        return 1.0
    residuals, widths = (np.concatenate(parts) for parts in zip(*(p.new_ratios() for p in earlier), strict=True))
    return novelty_scale(residuals, widths, coverage)


def evaluate_forward(
    estimator: BaseEstimator,
    frame: pd.DataFrame,
    y_log: np.ndarray,
    held_out: np.ndarray,
    coverage: float,
    n_jobs: int = 1,
) -> ForwardEvaluation:
    """`estimator` (unfitted or fitted: it is cloned) predicts log1p of the target from MODEL_INPUTS."""
    return summarise_forward(forward_predictions(estimator, frame, y_log, held_out, coverage, n_jobs), coverage)


def forward_predictions(
    estimator: BaseEstimator,
    frame: pd.DataFrame,
    y_log: np.ndarray,
    held_out: np.ndarray,
    coverage: float,
    n_jobs: int = 1,
) -> list[FoldPredictions]:
    """Each scored year's predictions and per-type half-widths (unscaled), oldest year first."""
    folds = forward_folds(frame[DATA_YEAR].to_numpy(), frame[BUILDING_ID].to_numpy(), held_out)
    return list(
        Parallel(n_jobs=n_jobs)(delayed(_score_fold)(estimator, frame, y_log, fold, coverage) for fold in folds)
    )


def summarise_forward(predictions: Sequence[FoldPredictions], coverage: float) -> ForwardEvaluation:
    """Per year and pooled scores of both populations.

    Each year's intervals are scaled by the novelty scale of the *other* scored years' new buildings (leave one
    year out): the registered model's scale rests on every scored year and is used on a year none of them is, so
    a year's coverage is measured with a scale that did not see it. (Scaling each year by the years before it
    only would leave the first scored year unscaled, which the registered model never is.)"""
    scales = [_scale_from([*predictions[:i], *predictions[i + 1 :]], coverage) for i in range(len(predictions))]
    widths = [p.halfwidth * scale for p, scale in zip(predictions, scales, strict=True)]
    rows: list[dict[str, object]] = []
    for population in POPULATIONS:
        keeps = [p.new if population == "new" else np.ones(len(p.new), dtype=bool) for p in predictions]
        for p, keep, width, scale in zip(predictions, keeps, widths, scales, strict=True):
            rows.append(
                {
                    "year": p.year,
                    "population": population,
                    **scores(p.y_log[keep], p.pred_log[keep], width[keep]),
                    "novelty_scale": scale,
                }
            )
        if predictions:
            keep = np.concatenate(keeps)
            pooled = [
                np.concatenate(parts)[keep]
                for parts in ([p.y_log for p in predictions], [p.pred_log for p in predictions], widths)
            ]
            rows.append({"year": POOLED, "population": population, **scores(*pooled)})
    return ForwardEvaluation(rows=rows, novelty_scale=_scale_from(predictions, coverage))
