"""Forward evaluation on real years: each fit sees only the years before the one it is scored on, and "new"
buildings are exactly those absent from every earlier year."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from energy_pipeline.core.columns import BUILDING_ID, DATA_YEAR, TARGET_ENERGY
from energy_pipeline.models.candidates import CANDIDATES, DEFAULT_CANDIDATES
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.forward import POOLED, evaluate_forward, forward_folds
from energy_pipeline.models.modelling import HOLDOUT
from energy_pipeline.models.protocol import log_target

SLICE = (2015, 2016, 2017, 2018)


@pytest.fixture(scope="module")
def rows(training_rows: pd.DataFrame) -> pd.DataFrame:
    return training_rows[training_rows[DATA_YEAR].isin(SLICE)].reset_index(drop=True)


class YearsSeen(RegressorMixin, BaseEstimator):
    """Remembers which data years and buildings each fit saw; predicts the mean it saw."""

    fits: ClassVar[list[tuple[set[int], set[Any]]]] = []

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> YearsSeen:
        YearsSeen.fits.append(({int(v) for v in X[DATA_YEAR]}, set(X.index)))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.mean_)


def test_each_fit_sees_only_the_years_before_the_scored_one(rows: pd.DataFrame) -> None:
    YearsSeen.fits.clear()
    evaluation = evaluate_forward(YearsSeen(), rows, log_target(rows, TARGET_ENERGY), rows[HOLDOUT].to_numpy(), 0.8)
    scored_years = [r["year"] for r in evaluation.rows if r["population"] == "all" and r["year"] != POOLED]
    assert scored_years == [2017, 2018]  # two years of history at least
    assert [years for years, _ in YearsSeen.fits] == [{2015, 2016}, {2015, 2016, 2017}]
    for _, index in YearsSeen.fits:  # the held-out buildings calibrate the intervals: never fitted on
        assert not rows.loc[sorted(index), HOLDOUT].any()


def test_new_buildings_are_absent_from_every_earlier_year(rows: pd.DataFrame) -> None:
    folds = forward_folds(rows[DATA_YEAR].to_numpy(), rows[BUILDING_ID].to_numpy(), rows[HOLDOUT].to_numpy())
    for fold in folds:
        earlier = set(rows.loc[rows[DATA_YEAR] < fold.year, BUILDING_ID])
        scored = rows[fold.scored]
        assert set(scored[DATA_YEAR]) == {fold.year}
        new_ids = set(rows.loc[fold.new, BUILDING_ID])
        assert new_ids and not new_ids & earlier
        assert set(scored[BUILDING_ID]) - new_ids <= earlier  # every other scored building was seen before
        assert not (fold.fit & fold.calibration).any()
        assert set(rows.loc[fold.fit | fold.calibration, DATA_YEAR]) == {y for y in SLICE if y < fold.year}


def test_forward_scores_of_a_real_model_on_real_years(rows: pd.DataFrame) -> None:
    """A ridge, fitted forward: sensible scores, new buildings harder than all, pooled rows add up."""
    y = log_target(rows, TARGET_ENERGY)
    evaluation = evaluate_forward(CANDIDATES["ridge"].pipeline(), rows, y, rows[HOLDOUT].to_numpy(), 0.8, n_jobs=2)
    table = evaluation.frame()
    yearly = table[table["year"] != POOLED]
    for population in ("all", "new"):
        pooled = evaluation.pooled(population)
        assert pooled["rows"] == yearly.loc[yearly["population"] == population, "rows"].sum()
    assert evaluation.pooled("all")["rows"] == int(rows[DATA_YEAR].isin([2017, 2018]).sum())
    assert 0.6 < evaluation.pooled("all")["r2_log"] < 0.95
    assert evaluation.pooled("new")["r2_log"] < evaluation.pooled("all")["r2_log"]
    assert 0.6 < evaluation.pooled("all")["coverage"] < 0.95


@pytest.mark.parametrize("name", [c for c in DEFAULT_CANDIDATES if c != "mean_baseline"])
@pytest.mark.integration  # fits full-size models on the real data
def test_an_unseen_future_year_gets_the_predictions_of_its_buildings(rows: pd.DataFrame, name: str) -> None:
    """The year reaches the models only through a building's age, so scoring the same buildings twelve years
    after any year trained on moves their predictions by what twelve years of age are worth, not wildly."""
    fit = rows[rows[DATA_YEAR] < 2018]
    model = CANDIDATES[name].pipeline().fit(fit[list(MODEL_INPUTS)], log_target(fit, TARGET_ENERGY))
    scored = rows.loc[rows[DATA_YEAR] == 2018, list(MODEL_INPUTS)]
    later = scored.assign(**{DATA_YEAR: 2030})
    now, then = model.predict(scored), model.predict(later)
    assert np.isfinite(then).all()
    shift = then - now  # log1p kBtu
    assert np.abs(np.median(shift)) < np.log(1.25)
    assert np.quantile(np.abs(shift), 0.99) < np.log(2.0)
