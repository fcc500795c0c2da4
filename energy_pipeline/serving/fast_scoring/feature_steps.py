"""The feature steps of a pipeline as functions of column arrays, calling the very functions the fitted
transformers call (`models/features.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from energy_pipeline.models.features import (
    DERIVED_COLUMNS,
    NUMERIC_INPUTS,
    PRIOR_COLUMN,
    USE_TYPES,
    BuildingFeatures,
    UseTypePrior,
    derived_features,
    fitted_use_vocabulary,
    prior_column,
    slot_shares,
    stack_columns,
    use_type_share_columns,
    use_type_share_matrix,
    uses_or_none,
)
from energy_pipeline.serving.fast_scoring.base import Columns, Memo, NotCompilable, state_key

# --- feature steps ---------------------------------------------------------------------------------------
#
# Every fitted step becomes a function named by a digest of its fitted state. Within one request (a `Memo`), a
# step with the same digest on the same inputs runs once: the members of a stacking, and the two targets' models,
# share their engineered features, and members fitted on the same rows share their prior and their encoding.
#
# A pipeline's numeric columns (raw inputs, then what each step adds) are laid side by side in one "wide" matrix,
# and each encoder block takes its columns from it by position: a request builds a handful of matrices, not one
# array per named column (a one-row request spent more time moving ~100 one-element arrays than computing them).


RAW_NUMERIC, USE_SHARES = "raw-numeric", "use-shares"  # memo keys of steps every pipeline shares


def raw_numeric(columns: Columns, memo: Memo) -> np.ndarray:
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


def prior_step(prior: UseTypePrior) -> ColumnAdder:
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


def features_step(features: BuildingFeatures) -> ColumnAdder:
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


def wide_layout(adders: Sequence[ColumnAdder]) -> Layout:
    """Raw numeric inputs, then each step's columns; a name added again takes the later position, as the
    DataFrame path's later column does."""
    names = [*NUMERIC_INPUTS, *(name for adder in adders for name in adder.names)]
    return {name: position for position, name in enumerate(names)}
