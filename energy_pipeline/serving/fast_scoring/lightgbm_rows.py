"""One row through a LightGBM booster by LightGBM's single-row C API (`LGBM_BoosterPredictForMatSingleRowFast`).

`Booster.predict` checks its input and sets up a predictor on every call: ~40 µs before the first tree for one
building. The single-row API prepares that once (a "FastConfig") and then costs ~10 µs plus the trees. The
Python package does not wrap it, so it is called through the package's own loaded library. The row and result
buffers and their ctypes pointers are made once too (making the pointers on every call took 3.5 of a call's 5 µs
of Python); a lock lets threads share one predictor and its buffers.
"""

from __future__ import annotations

import ctypes
import threading
import weakref

import lightgbm
import numpy as np

from energy_pipeline.private_apis.lightgbm_internals import LIGHTGBM_LIBRARY, checked_call

PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: with the objective's output transform, as `Booster.predict` gives
DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRowPredictor:
    """`booster.predict(row[None, :], num_iteration=...)[0:1]`, bit for bit, for one float64 row."""

    def __init__(self, booster: lightgbm.Booster, num_iteration: int = -1) -> None:
        self.booster = booster  # kept alive for as long as the prepared predictor points into it
        self.width = booster.num_feature()
        config = ctypes.c_void_p()
        checked_call(
            LIGHTGBM_LIBRARY.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(num_iteration),  # <= 0: every tree
                ctypes.c_int(DTYPE_FLOAT64),
                ctypes.c_int32(self.width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(config),
            )
        )
        weakref.finalize(self, LIGHTGBM_LIBRARY.LGBM_FastConfigFree, config)
        self._row, self._out, self._out_len = np.empty(self.width), np.empty(1), ctypes.c_int64()
        self._arguments = (
            config,
            self._row.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(self._out_len),
            self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )
        self._lock = threading.Lock()

    def __call__(self, row: np.ndarray) -> np.ndarray:
        if np.shape(row) != (self.width,):
            raise ValueError(f"one row of {self.width} features expected, got shape {np.shape(row)}")
        with self._lock:
            self._row[:] = row
            checked_call(LIGHTGBM_LIBRARY.LGBM_BoosterPredictForMatSingleRowFast(*self._arguments))
            return self._out.copy()
