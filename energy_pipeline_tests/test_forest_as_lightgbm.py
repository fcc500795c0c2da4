"""A sklearn forest walked by LightGBM, and LightGBM's single-row C API: the same numbers to the last bit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import lightgbm
import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

from energy_pipeline.serving.fast_scoring.forest_as_lightgbm import forest_booster
from energy_pipeline.serving.fast_scoring.lightgbm_rows import SingleRowPredictor


@pytest.fixture(scope="module")
def rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.lognormal(size=(600, 8))  # skewed, like floor areas
    X[:, 3] = rng.integers(0, 3, size=600)  # a one-hot-like column: many values sit right at a split
    y = np.log1p(X[:, 0] * 3 + X[:, 1]) + 0.3 * X[:, 3] + rng.normal(scale=0.2, size=600)
    unseen = rng.lognormal(size=(300, 8)).astype(np.float32).astype(float)  # as sklearn casts them
    return {"X": X, "y": y, "test": np.vstack([X.astype(np.float32).astype(float), unseen])}


@pytest.mark.parametrize(
    "forest",
    [
        ExtraTreesRegressor(n_estimators=25, min_samples_leaf=3, random_state=0),
        RandomForestRegressor(n_estimators=25, max_features=0.5, random_state=0),
    ],
    ids=["extra_trees", "random_forest"],
)
def test_a_forest_walked_by_lightgbm_gives_sklearns_numbers(forest: object, rows: dict[str, np.ndarray]) -> None:
    forest.fit(rows["X"], rows["y"])  # type: ignore[attr-defined]
    expected = forest.predict(rows["test"])  # type: ignore[attr-defined]
    booster = forest_booster(forest)
    assert booster.num_trees() == 25
    np.testing.assert_array_equal(booster.predict(rows["test"], num_threads=1), expected)
    one_row = SingleRowPredictor(booster)
    np.testing.assert_array_equal(np.concatenate([one_row(row) for row in rows["test"]]), expected)


def test_trees_of_a_single_leaf(rows: dict[str, np.ndarray]) -> None:
    forest = ExtraTreesRegressor(n_estimators=3, random_state=0).fit(rows["X"], np.full(len(rows["X"]), 2.5))
    assert all(e.tree_.node_count == 1 for e in forest.estimators_)
    np.testing.assert_array_equal(forest_booster(forest).predict(rows["test"][:5]), np.full(5, 2.5))


@pytest.fixture(scope="module")
def booster(rows: dict[str, np.ndarray]) -> lightgbm.Booster:
    model = lightgbm.LGBMRegressor(n_estimators=30, objective="l1", num_leaves=15, random_state=0, verbose=-1)
    return model.fit(rows["X"], rows["y"]).booster_


@pytest.mark.parametrize("iterations", [-1, 12])
def test_one_row_by_the_c_api_is_booster_predict(
    booster: lightgbm.Booster, rows: dict[str, np.ndarray], iterations: int
) -> None:
    one_row = SingleRowPredictor(booster, iterations)
    expected = booster.predict(rows["test"], num_iteration=iterations)
    np.testing.assert_array_equal(np.concatenate([one_row(row) for row in rows["test"]]), expected)
    if iterations > 0:  # the limit is honoured: fewer trees, other numbers
        assert not np.array_equal(expected, booster.predict(rows["test"]))


def test_threads_may_share_one_single_row_predictor(booster: lightgbm.Booster, rows: dict[str, np.ndarray]) -> None:
    one_row = SingleRowPredictor(booster)
    expected = booster.predict(rows["test"])
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            got = np.concatenate(list(pool.map(one_row, rows["test"])))
            np.testing.assert_array_equal(got, expected)


def test_a_row_of_the_wrong_width_is_refused(booster: lightgbm.Booster) -> None:
    with pytest.raises(ValueError, match="one row of 8 features"):
        SingleRowPredictor(booster)(np.zeros(7))
