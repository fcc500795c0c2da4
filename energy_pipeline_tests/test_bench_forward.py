"""The forward benchmark: what its fits may see, and the bootstrap intervals it reports beside each figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from bench.forward import bootstrap_r2, predict_forward
from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR
from energy_pipeline.models.modelling import HOLDOUT
from energy_pipeline.models.protocol import log_target

FITS: list[dict[str, Any]] = []


class RecordsItsFit(RegressorMixin, BaseEstimator):
    """Predicts the mean of what it was fitted on, and records which years and how many rows that was."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> RecordsItsFit:
        FITS.append({"years": set(X[DATA_YEAR].astype(int)), "rows": len(X)})
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.mean_)


def test_forward_fits_never_see_the_scored_year_and_every_row_adds_the_held_out_buildings(
    training_rows: pd.DataFrame,
) -> None:
    frame = training_rows[training_rows[DATA_YEAR].isin([2015, 2016, 2017, 2018])].reset_index(drop=True)
    y_log = log_target(frame, "site_energy_use_kbtu")
    FITS.clear()
    shared = predict_forward(RecordsItsFit(), frame, y_log, every_row=False)
    every = predict_forward(RecordsItsFit(), frame, y_log, every_row=True)
    shared_fits, every_fits = FITS[:2], FITS[2:]
    for scored_year, shared_fit, every_fit in zip((2017, 2018), shared_fits, every_fits, strict=True):
        assert max(shared_fit["years"]) == max(every_fit["years"]) == scored_year - 1
        earlier = frame[DATA_YEAR] < scored_year
        assert shared_fit["rows"] == int((earlier & ~frame[HOLDOUT]).sum())
        assert every_fit["rows"] == int(earlier.sum())
    scored = frame[frame[DATA_YEAR] >= 2017]
    assert len(shared.y_log) == len(every.y_log) == len(scored)
    new_2018 = ~scored[BUILDING_ID].isin(frame.loc[frame[DATA_YEAR] < 2018, BUILDING_ID])
    new_2017 = ~scored[BUILDING_ID].isin(frame.loc[frame[DATA_YEAR] < 2017, BUILDING_ID])
    expected_new = np.where(scored[DATA_YEAR] == 2017, new_2017, new_2018)
    assert (shared.new == expected_new).all() and 0 < shared.new.sum() < len(scored)


def test_the_paired_interval_is_zero_for_the_same_model_and_excludes_zero_for_a_clearly_better_one() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    noisy, close = y + rng.normal(scale=1.0, size=300), y + rng.normal(scale=0.3, size=300)
    assert bootstrap_r2(y, noisy, noisy, rounds=200) == (0.0, 0.0)
    low, high = bootstrap_r2(y, close, noisy, rounds=200)
    assert 0 < low < high
    low, high = bootstrap_r2(y, close, None, rounds=200)
    assert low < 1 - np.mean((y - close) ** 2) / np.var(y) < high
