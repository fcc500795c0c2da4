"""The model at the end of a pipeline, called on the finished matrix: linear models as a dot product, forests
rewritten as LightGBM models for small requests, boosters called directly (one row by LightGBM's C API)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.linear_model import HuberRegressor, LinearRegression, Ridge, RidgeCV

if TYPE_CHECKING:  # LightGBM is imported where a model needs it: a Bento carries it only for such models
    import lightgbm

    from energy_pipeline.serving.fast_scoring.lightgbm_rows import SingleRowPredictor

from energy_pipeline.serving.fast_scoring.base import ForestTexts, MatrixModel, NotCompilable, state_key

# Up to this many rows a forest is walked by LightGBM on one thread; above it, by each sklearn tree on
# BULK_THREADS threads (for 200 trees 40 levels deep on 2 cores).
SMALL_BATCH_ROWS = 16
# Bulk rows (a batch request) are scored on this many threads: sklearn's tree walk and LightGBM release the GIL,
# and a batch at low concurrency would leave the other core idle.
BULK_THREADS = min(2, os.cpu_count() or 1)


# --- models on the finished matrix ------------------------------------------------------------------------


@dataclass(frozen=True)
class Forest:
    """A fitted RandomForest or ExtraTrees. Up to SMALL_BATCH_ROWS rows go through the forest rewritten as a
    LightGBM model (`forest_as_lightgbm.py`; one row by LightGBM's single-row C API: 200 trees in ~18 µs, where
    walking them all at once in numpy took ~110). Bulk rows, and rows with NaN, go to each tree's own Cython walk,
    summed in the forest's order as `ForestRegressor.predict` does, without its per-tree joblib and validation
    overhead: faster than LightGBM's walk for 1,000 rows (20 against 30 ms on one thread). As in sklearn, rows are
    cast to float32 and compared with the float64 thresholds, and the mean is taken over the trees."""

    booster: lightgbm.Booster
    one_row: SingleRowPredictor
    trees: tuple[Any, ...]  # the fitted sklearn.tree._tree.Tree objects

    @classmethod
    def of(cls, forest: Any, texts: ForestTexts) -> Forest:
        import lightgbm

        from energy_pipeline.serving.fast_scoring.forest_as_lightgbm import forest_model_text
        from energy_pipeline.serving.fast_scoring.lightgbm_rows import SingleRowPredictor

        if forest.n_outputs_ != 1:
            raise NotCompilable("multi-output forest")
        trees = tuple(e.tree_ for e in forest.estimators_)
        splits = [(t.feature, t.threshold, t.children_left, t.children_right, t.value) for t in trees]
        key = state_key("forest", forest.n_features_in_, splits)
        if key not in texts:
            texts[key] = forest_model_text(forest)
        booster = lightgbm.Booster(model_str=texts[key])
        return cls(booster, SingleRowPredictor(booster), trees)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if len(X) > SMALL_BATCH_ROWS or np.isnan(X).any():  # sklearn's walk: faster in bulk, exact on NaN
            rows32 = np.ascontiguousarray(X, dtype=np.float32)
            total = np.zeros(len(X))
            for values in _per_tree(self.trees, rows32):  # in the forest's order, whichever thread walked it
                total += values
            return total / len(self.trees)
        rows = X.astype(np.float32).astype(float)
        if len(rows) == 1:
            return self.one_row(rows[0])
        return np.asarray(self.booster.predict(rows, num_threads=1))


@cache
def _bulk_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=BULK_THREADS - 1, thread_name_prefix="bulk-scoring")


def _tree_values(trees: Sequence[Any], rows32: np.ndarray) -> list[np.ndarray]:
    return [tree.predict(rows32)[:, 0] for tree in trees]


def _per_tree(trees: Sequence[Any], rows32: np.ndarray) -> list[np.ndarray]:
    """Each tree's predictions in the forest's order; above SMALL_BATCH_ROWS, the trees are split into
    BULK_THREADS runs, one walked here and the others on the pool."""
    if BULK_THREADS == 1 or len(rows32) <= SMALL_BATCH_ROWS:
        return _tree_values(trees, rows32)
    size = -(-len(trees) // BULK_THREADS)
    runs = [trees[start : start + size] for start in range(0, len(trees), size)]
    others = [_bulk_pool().submit(_tree_values, run, rows32) for run in runs[1:]]
    return _tree_values(runs[0], rows32) + [values for other in others for values in other.result()]


def _linear(model: Any) -> MatrixModel:
    coef, intercept = np.asarray(model.coef_, dtype=float), model.intercept_
    if coef.ndim != 1:
        raise NotCompilable("multi-output linear model")
    return lambda X: X @ coef + intercept


def _lightgbm(model: Any) -> MatrixModel:
    from energy_pipeline.serving.fast_scoring.lightgbm_rows import SingleRowPredictor

    booster = model.booster_
    iterations = model.best_iteration_ or booster.best_iteration or -1  # what `predict` uses; -1: every tree
    one_row = SingleRowPredictor(booster, iterations)

    def predict(X: np.ndarray) -> np.ndarray:
        if len(X) == 1:
            return one_row(X[0])
        return booster.predict(
            X, num_iteration=iterations, num_threads=1 if len(X) <= SMALL_BATCH_ROWS else BULK_THREADS
        )

    return predict


def _xgboost(model: Any) -> MatrixModel:
    booster = model.get_booster()
    booster.set_param({"nthread": 1})
    best = getattr(model, "best_iteration", None)
    iterations = (0, best + 1) if best is not None else (0, 0)
    return lambda X: booster.inplace_predict(X, iteration_range=iterations, missing=model.missing)


def matrix_model(model: Any, texts: ForestTexts) -> tuple[MatrixModel, str]:
    family = f"{type(model).__module__.split('.')[0]}.{type(model).__name__}"
    if isinstance(model, RandomForestRegressor | ExtraTreesRegressor):
        return Forest.of(model, texts), family
    if isinstance(model, Ridge | RidgeCV | LinearRegression | HuberRegressor):
        return _linear(model), family
    if family == "lightgbm.LGBMRegressor":
        return _lightgbm(model), family
    if family == "xgboost.XGBRegressor":
        return _xgboost(model), family
    if isinstance(model, DummyRegressor):
        return model.predict, family
    # Any other sklearn regressor (HistGradientBoosting, ...) is called on the finished matrix: no pandas.
    if hasattr(model, "predict") and type(model).__module__.startswith("sklearn."):
        return model.predict, family
    raise NotCompilable(f"model {family}")
