"""A fitted ColumnTransformer as lookup tables and arrays taken from its fitted attributes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from energy_pipeline.models.features import (
    CATEGORICAL_INPUTS,
)
from energy_pipeline.serving.fast_scoring.base import Columns, NotCompilable
from energy_pipeline.serving.fast_scoring.feature_steps import Layout

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


def encoder_of(transformer: ColumnTransformer, layout: Layout) -> Encoder:
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
