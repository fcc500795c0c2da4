"""What every part of a compiled model shares: the column arrays it reads, a request's memo, the digest that
names a fitted step, and the error that sends a model back to its own `predict`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from energy_pipeline.models.features import (
    CATEGORICAL_INPUTS,
    MODEL_INPUTS,
    model_inputs,
)

Columns = Mapping[str, np.ndarray]
Memo = dict[Any, Any]  # one request's intermediate results, by the digest of the steps that made them
# Each forest's LightGBM model text, by the digest of its trees. Writing the text is most of a forest's compile
# time: a compile fills this, and a later compile of the same model given it (a serving
# worker, from the Bento) reads the text instead of writing it again.
ForestTexts = dict[str, str]
MatrixModel = Callable[[np.ndarray], np.ndarray]
Compiled = Callable[[Columns, Memo], np.ndarray]


class NotCompilable(TypeError):
    """A fitted step this module has no numpy form for; the model itself is used instead."""


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw inputs as the column arrays scorers read: float64 numbers, object categories (None when missing)."""
    inputs = model_inputs(frame)
    return {c: inputs[c].to_numpy(dtype=object if c in CATEGORICAL_INPUTS else float) for c in MODEL_INPUTS}


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
