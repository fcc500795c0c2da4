"""A fitted model compiled into a scorer, checked against the model on real rows before use; the model itself
when it cannot be compiled or the check fails."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import StackingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from energy_pipeline.models.features import (
    BuildingFeatures,
    UseTypePrior,
    model_inputs,
    stack_columns,
)
from energy_pipeline.serving.fast_scoring.base import (
    Columns,
    Compiled,
    ForestTexts,
    Memo,
    NotCompilable,
    frame_columns,
    state_key,
)
from energy_pipeline.serving.fast_scoring.encoding import Encoder, encoder_of
from energy_pipeline.serving.fast_scoring.feature_steps import (
    ColumnAdder,
    features_step,
    prior_step,
    raw_numeric,
    wide_layout,
)
from energy_pipeline.serving.fast_scoring.matrix_models import matrix_model

CHECK_RTOL = 1e-9
logger = logging.getLogger(__name__)


class Scorer(Protocol):
    @property
    def kind(self) -> str: ...  # "compiled" or "pipeline"

    @property
    def detail(self) -> str: ...  # the compiled model family, or why the pipeline is used

    def predict(self, columns: Columns, memo: Memo | None = None) -> np.ndarray: ...


# --- whole models ------------------------------------------------------------------------------------------


def _pipeline(pipeline: Pipeline, texts: ForestTexts) -> tuple[Compiled, str]:
    *transforms, (_, model) = pipeline.steps
    adders: list[ColumnAdder] = []
    encoder: Encoder | None = None
    for _, step in transforms:
        if encoder is not None:
            raise NotCompilable(f"a step after the column encoding: {step!r}")
        if isinstance(step, UseTypePrior):
            adders.append(prior_step(step))
        elif isinstance(step, BuildingFeatures):
            adders.append(features_step(step))
        elif isinstance(step, ColumnTransformer):
            encoder = encoder_of(step, wide_layout(adders))
        else:
            raise NotCompilable(f"pipeline step {step!r}")
    if encoder is None:
        raise NotCompilable("pipeline without a column encoding")
    predict_matrix, family = matrix_model(model, texts)
    encode = encoder
    wide_key = ("wide", *(adder.key for adder in adders))
    matrix_key = (*wide_key[1:], state_key("encoder", encoder))

    def predict(columns: Columns, memo: Memo) -> np.ndarray:
        if matrix_key not in memo:
            if wide_key not in memo:
                blocks = [raw_numeric(columns, memo), *(add(columns, memo) for add in adders)]
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
        final, final_family = matrix_model(model.final_estimator_, texts)

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
