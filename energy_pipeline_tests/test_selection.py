"""The selection rule: within one standard error of the best CV score, the cheapest to serve wins."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_pipeline.core.columns import DATA_YEAR, TARGET_ENERGY
from energy_pipeline.models.candidates import CANDIDATES
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.protocol import log_target
from energy_pipeline.models.selection import Contender, choose, serving_cost

MB = 1_000_000


def _contender(name: str, mean: float, size_mb: float, std: float = 0.02, splits: int = 4) -> Contender:
    return Contender(name=name, cv_mean=mean, cv_std=std, splits=splits, size_bytes=int(size_mb * MB))


def test_a_cheaper_candidate_within_one_standard_error_wins() -> None:
    # best 0.800 ± 0.02/√4 = 0.01: the threshold is 0.790
    choice = choose(
        [_contender("stacking", 0.800, 40), _contender("lightgbm", 0.791, 0.5), _contender("ridge", 0.7, 0.1)]
    )
    assert (choice.winner, choice.best) == ("lightgbm", "stacking")
    assert choice.within == ("lightgbm", "stacking")
    assert "within one standard error" in choice.reason


def test_outside_one_standard_error_the_better_wins() -> None:
    choice = choose([_contender("stacking", 0.800, 40), _contender("lightgbm", 0.789, 0.5)])
    assert choice.winner == "stacking"
    assert choice.within == ("stacking",)


def test_equal_size_goes_to_the_better_and_the_budget_excludes() -> None:
    assert choose([_contender("a", 0.795, 1.0), _contender("b", 0.800, 1.0)]).winner == "b"
    choice = choose([_contender("forest", 0.9, 80), _contender("lightgbm", 0.8, 0.5)], max_size_bytes=50 * MB)
    assert (choice.winner, choice.over_budget) == ("lightgbm", ("forest",))
    with pytest.raises(ValueError, match="no candidate fits the serving budget"):
        choose([_contender("forest", 0.9, 80)], max_size_bytes=50 * MB)


def test_serving_cost_measures_size_and_a_compiled_single_building(training_rows: pd.DataFrame) -> None:
    rows = training_rows[training_rows[DATA_YEAR] == 2016]
    X, y = rows[list(MODEL_INPUTS)], log_target(rows, TARGET_ENERGY)
    ridge = serving_cost(CANDIDATES["ridge"].pipeline().fit(X, y), X)
    forest = serving_cost(CANDIDATES["extra_trees"].pipeline().fit(X, y), X)
    assert ridge.scorer.startswith("compiled") and forest.scorer.startswith("compiled")
    assert 0 < ridge.size_bytes < forest.size_bytes
    assert ridge.single_row_ms > 0 and forest.single_row_ms > 0
