"""The registered model compiled, at load time, into plain numpy arrays: the same numbers as `model.predict`
on a DataFrame, without building a DataFrame or walking sklearn's validation on every request.

Most of a one-row `Pipeline.predict` is spent in pandas and in the ColumnTransformer, not in the model, so a
served request pays ~40 ms for ~0.3 ms of arithmetic. Here each fitted step becomes a small function of column
arrays: the engineered features call the very functions the transformers call (`models/features.py`), the
encoders become lookup tables taken from their fitted attributes, and the model is called on the finished matrix
(a forest is rewritten as a LightGBM model for small requests; boosters are called directly, one row by
LightGBM's single-row C API). A family without a compiled form, or a compiled form that disagrees with the model
on the check rows, falls back to the model itself: slower, never different.
"""

from energy_pipeline.serving.fast_scoring.base import Columns, ForestTexts, Memo, NotCompilable, frame_columns
from energy_pipeline.serving.fast_scoring.matrix_models import SMALL_BATCH_ROWS
from energy_pipeline.serving.fast_scoring.scorers import CompiledScorer, PipelineScorer, Scorer, compile_model

__all__ = [
    "SMALL_BATCH_ROWS",
    "Columns",
    "CompiledScorer",
    "ForestTexts",
    "Memo",
    "NotCompilable",
    "PipelineScorer",
    "Scorer",
    "compile_model",
    "frame_columns",
]
