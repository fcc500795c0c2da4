"""Which tuned candidates a stacking is built from (the best of each family, then the best of the rest), and what
the stacking tunes itself."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_validate

from energy_pipeline.core.columns import BUILDING_ID, TARGET_GHG
from energy_pipeline.data.cleaning import clean_buildings
from energy_pipeline.data.validation import validate_raw
from energy_pipeline.models.candidates import CANDIDATES, stacking_pipeline
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.modelling import training_frame
from energy_pipeline.models.protocol import SCORERS, Protocol, log_target
from energy_pipeline.models.training import (
    STACK_SIZE,
    CandidateResult,
    failed_candidate,
    stack_best,
    stack_grid,
    stack_members,
)

pytestmark = pytest.mark.integration


def _result(name: str, r2_log: float) -> CandidateResult:
    return CandidateResult(name=name, grid={}, best_params={}, cv={"r2_log_mean": r2_log}, fit_seconds=0.0)


def _names(results: list[CandidateResult]) -> list[str]:
    return [r.name for r in stack_members(results)]


def test_one_member_per_family_even_when_one_family_holds_the_top_three() -> None:
    results = [
        _result("xgboost", 0.76),
        _result("lightgbm", 0.75),
        _result("hist_gradient_boosting", 0.74),
        _result("ridge", 0.73),  # the baseline: only a filler
        _result("huber", 0.72),
        _result("random_forest", 0.70),
        _result("extra_trees", 0.71),
        _result("mean_baseline", 0.0),
    ]
    assert _names(results) == ["huber", "xgboost", "extra_trees"]


def test_missing_or_failed_families_are_filled_with_the_best_of_the_rest() -> None:
    results = [
        _result("ridge", 0.75),
        _result("lightgbm", 0.74),
        _result("xgboost", 0.73),
        failed_candidate("extra_trees", RuntimeError("boom")),
        _result("mean_baseline", 0.0),
    ]
    assert _names(results) == ["lightgbm", "ridge", "xgboost"]
    assert len(_names(results)) == STACK_SIZE


@pytest.mark.parametrize("only", [["ridge"], ["mean_baseline", "lightgbm"]])
def test_a_stack_never_takes_the_mean_baseline(only: list[str]) -> None:
    names = _names([_result(name, 0.5) for name in only])
    assert "mean_baseline" not in names and names == [n for n in only if n != "mean_baseline"]


def _tuned(name: str, grid: dict[str, list[Any]]) -> CandidateResult:
    return CandidateResult(name=name, grid=grid, best_params={}, cv={"r2_log_mean": 0.5}, fit_seconds=0.0)


def test_the_stack_tunes_only_a_bagging_members_leaf_size_over_its_own_grid() -> None:
    members = [
        _tuned("huber", {"model__alpha": [1.0, 3.0]}),
        _tuned("lightgbm", {"model__min_child_samples": [5, 20]}),
        _tuned("extra_trees", {"model__min_samples_leaf": [8, 3], "model__max_features": [0.3, 0.5]}),
    ]
    assert stack_grid(members) == {"extra_trees__model__min_samples_leaf": [3, 8]}
    assert stack_grid([_tuned("random_forest", {"model__min_samples_leaf": [2]})]) == {}  # nothing to choose


def test_the_stacking_keeps_the_leaf_size_that_scores_best_in_the_stack(harmonised: dict[int, pd.DataFrame]) -> None:
    raw = harmonised[2016]
    frame = training_frame(clean_buildings(raw, validate_raw(raw, 2016, 0.01).invalid_rows).cleaned).head(600)
    X, y = frame[list(MODEL_INPUTS)], log_target(frame, TARGET_GHG)
    splits = Protocol(folds=3, seeds=(42,)).splits(frame[BUILDING_ID])
    ridge = CANDIDATES["ridge"].pipeline()
    forest = CANDIDATES["extra_trees"].pipeline().set_params(model__n_estimators=30)
    results = [
        CandidateResult("ridge", {}, {}, {"r2_log_mean": 0.6}, 0.0, estimator=ridge),
        CandidateResult("extra_trees", {"model__min_samples_leaf": [2, 16]}, {}, {"r2_log_mean": 0.5}, 0.0, forest),
    ]
    stacked = stack_best(results, X, y, splits, n_jobs=2)
    by_leaf = {
        leaf: cross_validate(
            stacking_pipeline({"ridge": ridge, "extra_trees": clone(forest).set_params(model__min_samples_leaf=leaf)}),
            X,
            y,
            cv=splits,
            scoring=SCORERS,
        )["test_r2_log"].mean()
        for leaf in (2, 16)
    }
    chosen = stacked.best_params["extra_trees__model__min_samples_leaf"]
    assert by_leaf[chosen] == max(by_leaf.values()) and by_leaf[2] != by_leaf[16]
    assert stacked.cv["r2_log_mean"] == pytest.approx(by_leaf[chosen], rel=1e-12)
    assert stacked.estimator.named_estimators_["extra_trees"].named_steps["model"].min_samples_leaf == chosen
