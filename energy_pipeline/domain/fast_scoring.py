"""The registered model compiled, at load time, into plain numpy arrays: the same numbers as `model.predict`
on a DataFrame, without building a DataFrame or walking sklearn's validation on every request.

Most of a one-row `Pipeline.predict` is spent in pandas and in the ColumnTransformer, not in the model, so a
served request pays ~40 ms for ~0.3 ms of arithmetic. Here each fitted step becomes a small function of column
arrays: the engineered features call the very functions the transformers call (`domain/features.py`), the
encoders become lookup tables taken from their fitted attributes, and the model is called on the finished matrix
(a forest is rewritten as a LightGBM model for small requests; boosters are called directly, one row by
LightGBM's single-row C API). A family without a compiled form, or a compiled form that disagrees with the model
on the check rows, falls back to the model itself: slower, never different.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor, StackingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import HuberRegressor, LinearRegression, Ridge, RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from energy_pipeline.domain.features import (
    CATEGORICAL_INPUTS,
    DERIVED_COLUMNS,
    MODEL_INPUTS,
    NUMERIC_INPUTS,
    PRIOR_COLUMN,
    USE_TYPES,
    BuildingFeatures,
    UseTypePrior,
    derived_features,
    fitted_use_vocabulary,
    model_inputs,
    prior_column,
    slot_shares,
    stack_columns,
    use_type_share_columns,
    use_type_share_matrix,
    uses_or_none,
)

if TYPE_CHECKING:  # LightGBM is imported where a model needs it: a Bento carries it only for such models
    import lightgbm

    from energy_pipeline.domain.lightgbm_rows import SingleRowPredictor

Columns = Mapping[str, np.ndarray]
Memo = dict[Any, Any]  # one request's intermediate results, by the digest of the steps that made them
# Each forest's LightGBM model text, by the digest of its trees. Writing the text is most of a forest's compile
# time (~0.17 s for 200 trees): a compile fills this, and a later compile of the same model given it (a serving
# worker, from the Bento) reads the text instead of writing it again.
ForestTexts = dict[str, str]
MatrixModel = Callable[[np.ndarray], np.ndarray]
Compiled = Callable[[Columns, Memo], np.ndarray]
# Up to this many rows a forest is walked by LightGBM on one thread; above it, by each sklearn tree on
# BULK_THREADS threads (for 200 trees 40 levels deep on 2 cores).
SMALL_BATCH_ROWS = 16
# Bulk rows (a batch request) are scored on this many threads: sklearn's tree walk and LightGBM release the GIL,
# and a batch at low concurrency would leave the other core idle.
BULK_THREADS = min(2, os.cpu_count() or 1)
CHECK_RTOL = 1e-9
logger = logging.getLogger(__name__)


class NotCompilable(TypeError):
    """A fitted step this module has no numpy form for; the model itself is used instead."""


class Scorer(Protocol):
    @property
    def kind(self) -> str: ...  # "compiled" or "pipeline"

    @property
    def detail(self) -> str: ...  # the compiled model family, or why the pipeline is used

    def predict(self, columns: Columns, memo: Memo | None = None) -> np.ndarray: ...


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw inputs as the column arrays scorers read: float64 numbers, object categories (None when missing)."""
    inputs = model_inputs(frame)
    return {c: inputs[c].to_numpy(dtype=object if c in CATEGORICAL_INPUTS else float) for c in MODEL_INPUTS}


# --- feature steps ---------------------------------------------------------------------------------------
#
# Every fitted step becomes a function named by a digest of its fitted state. Within one request (a `Memo`), a
# step with the same digest on the same inputs runs once: the members of a stacking, and the two targets' models,
# share their engineered features, and members fitted on the same rows share their prior and their encoding.
#
# A pipeline's numeric columns (raw inputs, then what each step adds) are laid side by side in one "wide" matrix,
# and each encoder block takes its columns from it by position: a request builds a handful of matrices, not one
# array per named column (a one-row request spent more time moving ~100 one-element arrays than computing them).


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, np.ndarray) and value.dtype != object:
        digest.update(f"a{value.dtype.str}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, np.ndarray | list | tuple):
        digest.update(f"l{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, dict):
        digest.update(f"d{len(value)}".encode())
        for key, item in sorted(value.items(), key=lambda pair: repr(pair[0])):
            _feed(digest, key)
            _feed(digest, item)
    elif is_dataclass(value) and not isinstance(value, type):
        digest.update(type(value).__name__.encode())
        for field in fields(value):
            _feed(digest, getattr(value, field.name))
    else:
        digest.update(repr((type(value).__name__, value)).encode())


def state_key(kind: str, *state: Any) -> str:
    """A name for a fitted step that is equal exactly when its fitted state is."""
    digest = hashlib.sha256(kind.encode())
    _feed(digest, state)
    return f"{kind}:{digest.hexdigest()[:24]}"


RAW_NUMERIC, USE_SHARES = "raw-numeric", "use-shares"  # memo keys of steps every pipeline shares


def _raw_numeric(columns: Columns, memo: Memo) -> np.ndarray:
    """The raw numeric inputs as one matrix."""
    if RAW_NUMERIC not in memo:
        memo[RAW_NUMERIC] = stack_columns([columns[c] for c in NUMERIC_INPUTS])
    raw: np.ndarray = memo[RAW_NUMERIC]
    return raw


def _use_shares(columns: Columns, memo: Memo) -> np.ndarray:
    """The three use slots' floor-area shares: the engineered features and every prior read them."""
    if USE_SHARES not in memo:
        memo[USE_SHARES] = slot_shares(columns)
    shares: np.ndarray = memo[USE_SHARES]
    return shares


@dataclass(frozen=True)
class ColumnAdder:
    """A step that adds numeric columns computed from the raw inputs only (the use-type prior, the engineered
    features): its output does not depend on which other steps ran, so members with and without a prior share it."""

    key: str
    names: tuple[str, ...]  # the added columns, in the order of the matrix `add` returns
    add: Callable[[Columns, Memo], np.ndarray]

    def __call__(self, columns: Columns, memo: Memo) -> np.ndarray:
        if self.key not in memo:
            memo[self.key] = self.add(columns, memo)
        added: np.ndarray = memo[self.key]
        return added


def _prior_step(prior: UseTypePrior) -> ColumnAdder:
    encoder = prior.encoder_
    if encoder.target_type_ != "continuous" or len(encoder.categories_) != len(USE_TYPES):
        raise NotCompilable("the use-type prior is not a continuous target encoding of the three uses")
    pairs = zip(encoder.categories_, encoder.encodings_, strict=True)
    lookups = [dict(zip(categories, codes, strict=True)) for categories, codes in pairs]
    default = float(encoder.target_mean_)  # TargetEncoder's value for a category it never saw

    def add_prior(columns: Columns, memo: Memo) -> np.ndarray:
        encoded = stack_columns(
            [
                [lookup.get(use, default) for use in uses_or_none(columns[name])]
                for name, lookup in zip(USE_TYPES, lookups, strict=True)
            ]
        )
        gfa_total = np.asarray(columns["property_gfa_total"], dtype=float)
        return prior_column(encoded, _use_shares(columns, memo), gfa_total)[:, None]

    return ColumnAdder(state_key("prior", lookups, default), (PRIOR_COLUMN,), add_prior)


def _features_step(features: BuildingFeatures) -> ColumnAdder:
    vocabulary = tuple(fitted_use_vocabulary(features))

    def add_features(columns: Columns, memo: Memo) -> np.ndarray:
        shares = _use_shares(columns, memo)
        derived = derived_features(columns, shares)
        blocks = [
            stack_columns([derived[c] for c in DERIVED_COLUMNS]),
            use_type_share_matrix(columns, vocabulary, shares),
        ]
        return np.concatenate(blocks, axis=1)

    names = (*DERIVED_COLUMNS, *use_type_share_columns(vocabulary))
    return ColumnAdder(state_key("features", vocabulary), names, add_features)


Layout = dict[str, int]  # column name -> position in a pipeline's wide matrix


def _layout(adders: Sequence[ColumnAdder]) -> Layout:
    """Raw numeric inputs, then each step's columns; a name added again takes the later position, as the
    DataFrame path's later column does."""
    names = [*NUMERIC_INPUTS, *(name for adder in adders for name in adder.names)]
    return {name: position for position, name in enumerate(names)}


# --- the ColumnTransformer ---------------------------------------------------------------------------------


def _positions(columns: Sequence[str], layout: Layout) -> np.ndarray:
    missing = [c for c in columns if c not in layout]
    if missing:
        raise NotCompilable(f"columns neither raw numeric inputs nor added by a step: {missing}")
    return np.array([layout[c] for c in columns], dtype=np.intp)


@dataclass(frozen=True)
class NumericBlock:
    """SimpleImputer (with its missing indicators) then StandardScaler or passthrough."""

    positions: np.ndarray  # the block's columns in the wide matrix
    fill: np.ndarray
    indicators: np.ndarray  # input positions that get a missing-indicator column
    scaling: tuple[np.ndarray, np.ndarray] | None  # StandardScaler's mean and scale; None: no scaler

    def __call__(self, wide: np.ndarray, columns: Columns) -> np.ndarray:
        values = wide[:, self.positions]
        missing = np.isnan(values)
        block = np.concatenate([np.where(missing, self.fill, values), missing[:, self.indicators]], axis=1)
        if self.scaling is None:
            return block
        mean, scale = self.scaling
        return (block - mean) / scale


@dataclass(frozen=True)
class CategoricalBlock:
    """SimpleImputer with a constant, then OneHotEncoder: a slot per category, unknowns to 'infrequent'."""

    columns: tuple[str, ...]  # raw categorical inputs
    fill: str
    slots: tuple[dict[Any, int], ...]  # category -> output column within the block
    unknown: tuple[int | None, ...]  # output column for a category never seen (None: all zeros)
    width: int

    def __call__(self, wide: np.ndarray, columns: Columns) -> np.ndarray:
        cells: list[int] = []  # row * width + slot of every 1, set at once
        for name, slots, unknown in zip(self.columns, self.slots, self.unknown, strict=True):
            for row, value in enumerate(columns[name]):
                slot = slots.get(self.fill if value is None or value != value else value, unknown)
                if slot is not None:
                    cells.append(row * self.width + slot)
        block = np.zeros(len(wide) * self.width)
        block[cells] = 1.0
        return block.reshape(len(wide), self.width)


@dataclass(frozen=True)
class PassthroughBlock:
    """Columns handed to the model as they are (the use-type floor-area shares)."""

    positions: np.ndarray

    def __call__(self, wide: np.ndarray, columns: Columns) -> np.ndarray:
        return wide[:, self.positions]


def _is_passthrough(step: Any) -> bool:
    """sklearn stores a fitted 'passthrough' block either as the string or as an identity FunctionTransformer."""
    if isinstance(step, str):
        return step == "passthrough"
    return isinstance(step, FunctionTransformer) and step.func is None


def _numeric_block(columns: list[str], pipeline: Pipeline, layout: Layout) -> NumericBlock:
    imputer, scaler = (step for _, step in pipeline.steps)
    if not isinstance(imputer, SimpleImputer) or np.isnan(imputer.statistics_.astype(float)).any():
        raise NotCompilable(f"numeric step {imputer!r}")
    indicators = imputer.indicator_.features_ if imputer.add_indicator else np.array([], dtype=int)
    width = len(columns) + len(indicators)
    scaling = None
    if isinstance(scaler, StandardScaler):
        mean = scaler.mean_ if scaler.with_mean else np.zeros(width)
        scale = scaler.scale_ if scaler.with_std else np.ones(width)
        scaling = (mean, scale)
    elif scaler not in ("passthrough", None):
        raise NotCompilable(f"numeric scaler {scaler!r}")
    fill = imputer.statistics_.astype(float)
    return NumericBlock(_positions(columns, layout), fill, np.asarray(indicators), scaling)


def _categorical_block(columns: list[str], pipeline: Pipeline) -> CategoricalBlock:
    imputer, encoder = (step for _, step in pipeline.steps)
    derived = sorted(set(columns) - set(CATEGORICAL_INPUTS))
    if derived:
        raise NotCompilable(f"categorical columns that are not raw inputs: {derived}")
    if not (isinstance(imputer, SimpleImputer) and imputer.strategy == "constant" and not imputer.add_indicator):
        raise NotCompilable(f"categorical imputer {imputer!r}")
    if not isinstance(encoder, OneHotEncoder) or encoder.drop is not None or encoder.handle_unknown == "error":
        raise NotCompilable(f"categorical encoder {encoder!r}")
    slots, unknown, offset = [], [], 0
    infrequent = encoder.infrequent_categories_
    for categories, rare in zip(encoder.categories_, infrequent, strict=True):
        rare_set = set() if rare is None else set(rare)
        frequent = [c for c in categories if c not in rare_set]
        mapping = {c: offset + i for i, c in enumerate(frequent)}
        rare_slot = offset + len(frequent) if rare_set else None  # sklearn puts 'infrequent' last
        mapping.update(dict.fromkeys(rare_set, rare_slot))
        slots.append(mapping)
        unknown.append(rare_slot)
        offset += len(frequent) + (1 if rare_set else 0)
    if offset != len(encoder.get_feature_names_out()):
        raise NotCompilable("one-hot layout differs from the encoder's output")
    return CategoricalBlock(tuple(columns), str(imputer.fill_value), tuple(slots), tuple(unknown), offset)


@dataclass(frozen=True)
class Encoder:
    """The fitted ColumnTransformer: its blocks side by side."""

    blocks: tuple[NumericBlock | CategoricalBlock | PassthroughBlock, ...]

    def __call__(self, wide: np.ndarray, columns: Columns) -> np.ndarray:
        return np.concatenate([block(wide, columns) for block in self.blocks], axis=1)


def _encoder(transformer: ColumnTransformer, layout: Layout) -> Encoder:
    if getattr(transformer, "sparse_output_", False):
        raise NotCompilable("sparse ColumnTransformer output")
    blocks: list[NumericBlock | CategoricalBlock | PassthroughBlock] = []
    for name, step, columns in transformer.transformers_:
        if (isinstance(step, str) and step == "drop") or len(columns) == 0:
            continue
        if _is_passthrough(step):
            blocks.append(PassthroughBlock(_positions(columns, layout)))
            continue
        if not isinstance(step, Pipeline) or len(step.steps) != 2:
            raise NotCompilable(f"column block {name!r}: {step!r}")
        if name == "numeric":
            blocks.append(_numeric_block(list(columns), step, layout))
        elif name == "categorical":
            blocks.append(_categorical_block(list(columns), step))
        else:
            raise NotCompilable(f"column block {name!r}")
    return Encoder(tuple(blocks))


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

        from energy_pipeline.domain.forest_as_lightgbm import forest_model_text
        from energy_pipeline.domain.lightgbm_rows import SingleRowPredictor

        if forest.n_outputs_ != 1:
            raise NotCompilable("multi-output forest")
        trees = tuple(e.tree_ for e in forest.estimators_)
        splits = [(t.feature, t.threshold, t.children_left, t.children_right, t.value) for t in trees]
        key = state_key("forest", forest.n_features_in_, splits)  # ~7 ms for 200 trees
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
    from energy_pipeline.domain.lightgbm_rows import SingleRowPredictor

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


def _matrix_model(model: Any, texts: ForestTexts) -> tuple[MatrixModel, str]:
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


# --- whole models ------------------------------------------------------------------------------------------


def _pipeline(pipeline: Pipeline, texts: ForestTexts) -> tuple[Compiled, str]:
    *transforms, (_, model) = pipeline.steps
    adders: list[ColumnAdder] = []
    encoder: Encoder | None = None
    for _, step in transforms:
        if encoder is not None:
            raise NotCompilable(f"a step after the column encoding: {step!r}")
        if isinstance(step, UseTypePrior):
            adders.append(_prior_step(step))
        elif isinstance(step, BuildingFeatures):
            adders.append(_features_step(step))
        elif isinstance(step, ColumnTransformer):
            encoder = _encoder(step, _layout(adders))
        else:
            raise NotCompilable(f"pipeline step {step!r}")
    if encoder is None:
        raise NotCompilable("pipeline without a column encoding")
    predict_matrix, family = _matrix_model(model, texts)
    encode = encoder
    wide_key = ("wide", *(adder.key for adder in adders))
    matrix_key = (*wide_key[1:], state_key("encoder", encoder))

    def predict(columns: Columns, memo: Memo) -> np.ndarray:
        if matrix_key not in memo:
            if wide_key not in memo:
                blocks = [_raw_numeric(columns, memo), *(add(columns, memo) for add in adders)]
                memo[wide_key] = np.concatenate(blocks, axis=1)
            memo[matrix_key] = encode(memo[wide_key], columns)
        return predict_matrix(memo[matrix_key])  # the model's own dtype: XGBoost's float32 stays float32

    return predict, family


def _compile(model: Any, texts: ForestTexts) -> tuple[Compiled, str]:
    if isinstance(model, TransformedTargetRegressor):
        inverse = model.transformer_
        if not isinstance(inverse, FunctionTransformer) or inverse.inverse_func is None or inverse.inv_kw_args:
            raise NotCompilable(f"target transformer {inverse!r}")
        inner, family = _compile(model.regressor_, texts)
        return (lambda columns, memo: inverse.inverse_func(inner(columns, memo))), family
    if isinstance(model, Pipeline):
        return _pipeline(model, texts)
    if isinstance(model, StackingRegressor) and not model.passthrough:
        members = [_compile(member, texts) for member in model.estimators_]
        final, final_family = _matrix_model(model.final_estimator_, texts)

        def stacked(columns: Columns, memo: Memo) -> np.ndarray:
            return final(stack_columns([predict(columns, memo) for predict, _ in members]))

        return stacked, f"stacking[{', '.join(f for _, f in members)}] -> {final_family}"
    raise NotCompilable(f"model {type(model).__name__}")


@dataclass(frozen=True)
class CompiledScorer:
    compiled: Compiled
    detail: str
    kind: str = "compiled"

    def predict(self, columns: Columns, memo: Memo | None = None) -> np.ndarray:
        """`memo`: pass one dict to every scorer of the same request to share the steps they have in common."""
        return np.asarray(self.compiled(columns, {} if memo is None else memo), dtype=float)


@dataclass(frozen=True)
class PipelineScorer:
    """The model itself on a DataFrame: for families without a compiled form."""

    model: Any
    detail: str
    kind: str = "pipeline"

    def predict(self, columns: Columns, memo: Memo | None = None) -> np.ndarray:
        return np.asarray(self.model.predict(model_inputs(pd.DataFrame(dict(columns)))), dtype=float)


def compile_model(
    model: Any, check_rows: pd.DataFrame | None = None, forest_texts: ForestTexts | None = None
) -> Scorer:
    """The fastest scorer that gives the model's own numbers on `check_rows` (a sample of real rows stored with
    the model). `forest_texts`: texts an earlier compile of the model wrote; the texts written here are added.

    Compiling reads library internals that an upgrade may rename: whatever goes wrong while compiling or checking
    falls back to the model itself, with the reason, so a serving worker never goes down for its fast path."""
    try:
        predict, family = _compile(model, {} if forest_texts is None else forest_texts)
    except NotCompilable as reason:
        return PipelineScorer(model, f"no compiled form: {reason}")
    except Exception as error:
        logger.warning("compiling %s failed, scoring with the model itself", type(model).__name__, exc_info=True)
        return PipelineScorer(model, f"compiling failed: {type(error).__name__}: {error}")
    compiled = CompiledScorer(predict, family)
    if check_rows is None or not len(check_rows):
        return compiled
    try:
        expected = PipelineScorer(model, "").predict(frame_columns(check_rows))
        one_by_one = [compiled.predict(frame_columns(check_rows.iloc[[i]])) for i in range(len(check_rows))]
        for got in (compiled.predict(frame_columns(check_rows)), np.concatenate(one_by_one)):
            if not np.allclose(got, expected, rtol=CHECK_RTOL, atol=0):
                return PipelineScorer(model, f"compiled {family} disagreed with the model on the check rows")
    except Exception as error:
        logger.warning("checking the compiled %s failed, scoring with the model itself", family, exc_info=True)
        return PipelineScorer(model, f"checking compiled {family} failed: {type(error).__name__}: {error}")
    return CompiledScorer(predict, f"{family}; agreed with the model on {len(check_rows)} check rows")
