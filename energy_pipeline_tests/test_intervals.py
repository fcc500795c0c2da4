"""Conformal intervals per property type: the coverage holds on buildings the calibration never saw (real data),
the width follows the type, and the small types share one width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupShuffleSplit

from energy_pipeline.core.columns import BUILDING_ID, TARGET_GHG
from energy_pipeline.models.candidates import CANDIDATES
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.intervals import ConformalIntervals, calibrate, conformal_quantile, coverage_and_width
from energy_pipeline.models.modelling import HOLDOUT
from energy_pipeline.models.protocol import log_target


def test_the_quantile_has_the_finite_sample_correction() -> None:
    residuals = np.arange(1, 11, dtype=float)  # 10 residuals: ceil(11 * 0.8) = 9th smallest
    assert conformal_quantile(residuals[::-1], 0.8) == 9.0
    assert conformal_quantile(residuals, 0.95) == 10.0  # never beyond the largest


def test_small_and_unseen_types_share_the_pooled_width() -> None:
    groups = ["Office"] * 50 + ["Hotel"] * 5 + ["Museum"] * 35 + [None] * 5
    residuals = np.r_[np.full(50, 0.2), np.full(5, 3.0), np.full(35, 1.0), np.full(5, 1.0)]
    intervals = calibrate(residuals, groups, 0.8, min_rows=40)
    assert set(intervals.by_group) == {"Office"}
    assert intervals.by_group["Office"] == 0.2
    assert intervals.pooled == 1.0  # the 45 residuals of the small types and the missing one: the 37th smallest
    assert calibrate(residuals[:60], groups[:60], 0.8, min_rows=40).pooled == 0.2  # a pool of 10: every residual
    assert intervals.halfwidths(["Office", "Hotel", "Never seen", None]).tolist() == [0.2, 1.0, 1.0, 1.0]
    assert ConformalIntervals.from_metadata(intervals.as_metadata()) == intervals


@pytest.mark.parametrize("seed", [1, 2])
def test_coverage_holds_on_buildings_the_calibration_never_saw(training_rows: pd.DataFrame, seed: int) -> None:
    """A LightGBM fitted on the non-held-out rows of every real year; the held-out buildings split in two: the
    intervals calibrated on one half cover 80% of the other within three standard errors of a proportion (over
    buildings: a building's rows of several years err alike)."""
    fit, held_out = training_rows[~training_rows[HOLDOUT]], training_rows[training_rows[HOLDOUT]]
    model = CANDIDATES["lightgbm"].pipeline().fit(fit[list(MODEL_INPUTS)], log_target(fit, TARGET_GHG))
    y, predicted = log_target(held_out, TARGET_GHG), model.predict(held_out[list(MODEL_INPUTS)])
    types = held_out["primary_property_type"].to_numpy()
    calibration, unseen = next(
        GroupShuffleSplit(n_splits=1, test_size=0.5, random_state=seed).split(held_out, groups=held_out[BUILDING_ID])
    )
    intervals = calibrate(np.abs(y - predicted)[calibration], types[calibration], 0.8)
    result = coverage_and_width(intervals, y[unseen], predicted[unseen], types[unseen])
    tolerance = 3 * np.sqrt(0.8 * 0.2 / held_out[BUILDING_ID].iloc[unseen].nunique())
    assert abs(result["coverage"] - 0.8) <= tolerance, (result, tolerance)
    widths = sorted(intervals.by_group.values())
    assert len(widths) >= 4 and widths[-1] > 1.5 * widths[0]  # adaptive: some types are much surer than others
