"""Which tuned candidates a stacking is built from: the best of each family, then the best of the rest."""

from __future__ import annotations

import pytest

from energy_pipeline.domain.training import STACK_SIZE, CandidateResult, failed_candidate, stack_members


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
