"""The forward aims: every default candidate, tuned as `make run` tunes it, the one the selection rule chooses, and
the forward issue's reference (one LightGBM, fixed parameters), each judged forward on the shipped years as the
`<target>_forward_evaluation` asset judges it (`models/forward.py`'s folds: fitted on the earlier years' non-held-out
rows, scored on the year). The new buildings are few, so each R²(log) on them comes with a bootstrap interval, and
each candidate's lead over the chosen one with a paired one (the same resampled buildings for both).

`python -m bench forward` -> `bench/results/forward.json`. Benchmarks report; nothing here passes or fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_score

from bench.common import machine
from bench.search import default_search, default_settings
from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, TARGET_SPECS, TargetSpec
from energy_pipeline.models.candidates import SEED, build_pipeline
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.forward import (
    POOLED,
    FoldPredictions,
    forward_folds,
    forward_predictions,
    summarise_forward,
)
from energy_pipeline.models.intervals import INTERVAL_COVERAGE
from energy_pipeline.models.modelling import HOLDOUT, training_frame
from energy_pipeline.models.protocol import log_target, median_ape
from energy_pipeline.models.training import select_winner

BOOTSTRAP_ROUNDS = 2000
# The forward issue's aims: pooled over the scored years, new buildings (absent from every earlier year) and all.
AIMS: dict[str, dict[str, float]] = {
    "site_energy": {"new_r2_log": 0.78, "new_median_ape": 0.28, "all_r2_log": 0.92},
    "ghg_emissions": {"new_r2_log": 0.52, "new_median_ape": 0.55, "all_r2_log": 0.80},
}
COVERAGE_AIM = (INTERVAL_COVERAGE - 0.03, INTERVAL_COVERAGE + 0.03)
REFERENCE = "issue_reference_lightgbm"


def reference_pipeline() -> BaseEstimator:
    """The issue's plain reference: one LightGBM with fixed parameters on the project's features."""
    return build_pipeline(LGBMRegressor(n_estimators=500, learning_rate=0.05, n_jobs=1, random_state=SEED, verbose=-1))


@dataclass(frozen=True)
class Forward:
    """Every scored year's rows, pooled: targets and predictions on the log scale, and which rows are new."""

    y_log: np.ndarray
    pred_log: np.ndarray
    new: np.ndarray

    @classmethod
    def of(cls, folds: list[FoldPredictions]) -> Forward:
        return cls(*(np.concatenate([getattr(f, part) for f in folds]) for part in ("y_log", "pred_log", "new")))


def predict_forward(
    estimator: BaseEstimator, frame: pd.DataFrame, y_log: np.ndarray, *, every_row: bool, n_jobs: int = 1
) -> Forward:
    """As the forward asset fits (the earlier years' non-held-out rows), or with `every_row` on all the earlier
    years' rows, which the registered model never is: its held-out share decides the gate."""
    held_out = frame[HOLDOUT].to_numpy()
    if not every_row:
        return Forward.of(forward_predictions(estimator, frame, y_log, held_out, INTERVAL_COVERAGE, n_jobs))
    X = frame[list(MODEL_INPUTS)]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for fold in forward_folds(frame[DATA_YEAR].to_numpy(), frame[BUILDING_ID].to_numpy(), held_out):
        earlier = fold.fit | fold.calibration
        model = clone(estimator).fit(X[earlier], y_log[earlier])
        parts.append((y_log[fold.scored], np.asarray(model.predict(X[fold.scored]), float), fold.new[fold.scored]))
    y, pred, new = (np.concatenate(column) for column in zip(*parts, strict=True))
    return Forward(y_log=y, pred_log=pred, new=new.astype(bool))


def bootstrap_r2(
    y: np.ndarray, pred: np.ndarray, baseline: np.ndarray | None, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of R² over resampled rows; with `baseline`, of R²(pred) - R²(baseline) on the same
    resampled rows (paired: both models see the same buildings each round)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        rows = rng.integers(0, len(y), len(y))
        value = r2_score(y[rows], pred[rows])
        if baseline is not None:
            value -= r2_score(y[rows], baseline[rows])
        values.append(value)
    low, high = np.quantile(values, [0.025, 0.975])
    return round(float(low), 3), round(float(high), 3)


def _figures(forward: Forward, chosen: Forward | None) -> dict[str, Any]:
    y_new, pred_new = forward.y_log[forward.new], forward.pred_log[forward.new]
    row: dict[str, Any] = {
        "all_r2_log": round(float(r2_score(forward.y_log, forward.pred_log)), 3),
        "all_median_ape": round(median_ape(np.expm1(forward.y_log), np.expm1(forward.pred_log)), 3),
        "new_r2_log": round(float(r2_score(y_new, pred_new)), 3),
        "new_r2_log_95": bootstrap_r2(y_new, pred_new, None),
        "new_median_ape": round(median_ape(np.expm1(y_new), np.expm1(pred_new)), 3),
    }
    if chosen is not None:
        base = chosen.pred_log[chosen.new]
        row["new_r2_log_lead_over_chosen"] = round(row["new_r2_log"] - float(r2_score(y_new, base)), 3)
        row["new_r2_log_lead_over_chosen_95"] = bootstrap_r2(y_new, pred_new, base)
    return row


def _aims_reached(target: TargetSpec, row: dict[str, Any]) -> dict[str, bool]:
    aims = AIMS[target.key]
    return {
        "new_r2_log": row["new_r2_log"] >= aims["new_r2_log"],
        "new_median_ape": row["new_median_ape"] <= aims["new_median_ape"],
        "all_r2_log": row["all_r2_log"] >= aims["all_r2_log"],
    }


def target_report(frame: pd.DataFrame, target: TargetSpec) -> dict[str, Any]:
    """The default search and selection rule, then every estimator forward."""
    settings = default_settings()
    train = frame[~frame[HOLDOUT]]
    tuned = default_search(train, target.column, settings)
    winner, choice = select_winner(tuned, settings.max_model_bytes)
    y_log = log_target(frame, target.column)
    folds = forward_predictions(
        winner.estimator, frame, y_log, frame[HOLDOUT].to_numpy(), INTERVAL_COVERAGE, settings.n_jobs
    )
    chosen = Forward.of(folds)
    coverage = summarise_forward(folds, INTERVAL_COVERAGE)
    pooled_new = next(r for r in coverage.rows if r["year"] == POOLED and r["population"] == "new")
    new_coverage = float(pooled_new["coverage"])  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    estimators: list[tuple[str, BaseEstimator, bool]] = [
        *((r.name, r.estimator, False) for r in tuned if r.name != "mean_baseline"),
        (REFERENCE, reference_pipeline(), False),
        (f"{REFERENCE}, fitted on every earlier row", reference_pipeline(), True),
    ]
    X_train, y_train = train[list(MODEL_INPUTS)], log_target(train, target.column)
    splits = settings.protocol.splits(train[BUILDING_ID])
    cv_scores = cross_val_score(reference_pipeline(), X_train, y_train, cv=splits, scoring="r2", n_jobs=settings.n_jobs)
    reference_cv = float(cv_scores.mean())  # on the same grouped splits as the candidates
    for name, estimator, every_row in estimators:
        is_chosen = name == winner.name
        if is_chosen:
            forward = chosen
        else:
            forward = predict_forward(estimator, frame, y_log, every_row=every_row, n_jobs=settings.n_jobs)
        row = {"candidate": name, "chosen": is_chosen, **_figures(forward, None if is_chosen else chosen)}
        cv = next((r.cv for r in tuned if r.name == name), None)
        row["cv_r2_log"] = round(cv["r2_log_mean"] if cv else reference_cv, 4)
        row["aims_reached"] = _aims_reached(target, row)
        rows.append(row)
    return {
        "chosen": winner.name,
        "selection": choice.reason,
        "scored_rows_all": len(chosen.y_log),
        "scored_rows_new": int(chosen.new.sum()),
        "aims": AIMS[target.key],
        "chosen_new_coverage": round(new_coverage, 3),
        "coverage_aim_reached": COVERAGE_AIM[0] <= new_coverage <= COVERAGE_AIM[1],
        "candidates": rows,
    }


def run_forward_benchmark() -> dict[str, Any]:
    from bench.growth import cleaned_rows

    frame = training_frame(cleaned_rows())
    years = sorted(int(y) for y in frame[DATA_YEAR].unique())
    report: dict[str, Any] = {"machine": machine(), "years": years, "rows": len(frame)}
    for target in TARGET_SPECS:
        print(f"forward benchmark: {target.key} (search, then every candidate forward)", flush=True)
        report[target.key] = target_report(frame, target)
    return report


def print_table(report: dict[str, Any]) -> None:
    for target in TARGET_SPECS:
        part = report[target.key]
        rows = f"new buildings {part['scored_rows_new']}, all {part['scored_rows_all']}"
        print(f"\n{target.key}: aims {part['aims']}; {rows}")
        print(f"chosen: {part['chosen']}; its coverage on new buildings {part['chosen_new_coverage']}")
        for row in part["candidates"]:
            lead = row.get("new_r2_log_lead_over_chosen_95", "")
            print(
                f"  {row['candidate']:48} CV {row['cv_r2_log']}  all {row['all_r2_log']} / {row['all_median_ape']}"
                f"  new {row['new_r2_log']} {row['new_r2_log_95']} / {row['new_median_ape']}"
                f"  lead {row.get('new_r2_log_lead_over_chosen', '')} {lead}"
            )
