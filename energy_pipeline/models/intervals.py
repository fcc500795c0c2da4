"""Prediction intervals by split-conformal prediction on the log scale, per property type, for new buildings.

One interval width for every building makes an office tower and a warehouse equally uncertain. Calibrating the
width within each property type (group-conditional, "Mondrian" conformal) gives each type its own coverage on
the held-out buildings and a narrower interval where the model is sure. A type with too few calibration rows
shares one width with the other small types (and with types never seen), so no width rests on a handful of
residuals.

The held-out buildings are of the training years, while the City asks about next year's new buildings, which
err more (new construction, newly benchmarked). So the per-type widths are then scaled by one factor, the
conformal quantile of |residual| / width over buildings that were new in a forward year (`novelty_scale`): the
type says how hard a building is, the forward residuals say how much harder a new building is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INTERVAL_COVERAGE = 0.8
# Below this many calibration rows a type's own quantile is too noisy: its 80% quantile would rest on < 8 residuals
# beyond it. Such types are pooled.
MIN_GROUP_ROWS = 40
INTERVAL_GROUP = "primary_property_type"


def conformal_quantile(abs_residuals: np.ndarray, coverage: float) -> float:
    """Split-conformal quantile: the ceil((n+1)·coverage)-th smallest residual (the largest when that rank is
    beyond n), which covers a new exchangeable residual with probability at least `coverage`."""
    values = np.sort(np.asarray(abs_residuals, dtype=float))
    n = len(values)
    if n == 0:
        raise ValueError("no calibration residuals")
    rank = min(n, math.ceil((n + 1) * coverage))
    return float(values[rank - 1])


@dataclass(frozen=True)
class ConformalIntervals:
    """Half-widths (log1p scale) per group value; `pooled` for the small groups and any value not calibrated."""

    coverage: float
    pooled: float
    by_group: dict[str, float] = field(default_factory=dict)
    group: str = INTERVAL_GROUP
    novelty_scale: float = 1.0  # already applied to `pooled` and `by_group`

    def scaled(self, factor: float) -> ConformalIntervals:
        """Every width times `factor` (`novelty_scale`)."""
        return ConformalIntervals(
            coverage=self.coverage,
            pooled=self.pooled * factor,
            by_group={k: v * factor for k, v in self.by_group.items()},
            group=self.group,
            novelty_scale=self.novelty_scale * factor,
        )

    def halfwidths(self, groups: Sequence[Any] | np.ndarray) -> np.ndarray:
        get = self.by_group.get
        return np.array([get(g, self.pooled) if isinstance(g, str) else self.pooled for g in groups], dtype=float)

    def bounds(self, predicted: np.ndarray, groups: Sequence[Any] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """80% bounds in original units around non-negative predictions."""
        halfwidth = self.halfwidths(groups)
        centre = np.log1p(np.maximum(np.asarray(predicted, dtype=float), 0.0))
        return np.maximum(np.expm1(centre - halfwidth), 0.0), np.expm1(centre + halfwidth)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "coverage": self.coverage,
            "group": self.group,
            "pooled": self.pooled,
            "by_group": self.by_group,
            "novelty_scale": self.novelty_scale,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> ConformalIntervals:
        return cls(
            coverage=float(metadata["coverage"]),
            pooled=float(metadata["pooled"]),
            by_group={str(k): float(v) for k, v in dict(metadata.get("by_group", {})).items()},
            group=str(metadata.get("group", INTERVAL_GROUP)),
            novelty_scale=float(metadata.get("novelty_scale", 1.0)),
        )


def calibrate(
    abs_log_residuals: np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    coverage: float = INTERVAL_COVERAGE,
    min_rows: int = MIN_GROUP_ROWS,
) -> ConformalIntervals:
    """Each group with at least `min_rows` calibration rows gets its own conformal quantile; the rest share the
    quantile of their pooled residuals, or of every residual when even the pool is smaller than `min_rows`."""
    residuals = np.asarray(abs_log_residuals, dtype=float)
    labels = np.array([g if isinstance(g, str) else "" for g in groups], dtype=object)
    values, counts = np.unique(labels, return_counts=True)
    large = {str(v) for v, n in zip(values, counts, strict=True) if v and n >= min_rows}
    by_group = {g: conformal_quantile(residuals[labels == g], coverage) for g in sorted(large)}
    small = ~np.isin(labels, list(large))
    pool = residuals[small] if small.sum() >= min_rows else residuals
    return ConformalIntervals(coverage=coverage, pooled=conformal_quantile(pool, coverage), by_group=by_group)


# Fewer forward-new residuals than this say too little about new buildings: the widths are left as calibrated.
MIN_NOVELTY_ROWS = 30


def novelty_scale(abs_log_residuals: np.ndarray, halfwidths: np.ndarray, coverage: float = INTERVAL_COVERAGE) -> float:
    """The factor that makes per-type widths cover `coverage` of these (forward-new) residuals: the conformal
    quantile of |residual| / width; 1 when there are fewer than MIN_NOVELTY_ROWS of them."""
    residuals = np.asarray(abs_log_residuals, dtype=float)
    if len(residuals) < MIN_NOVELTY_ROWS:
        return 1.0
    return conformal_quantile(residuals / np.asarray(halfwidths, dtype=float), coverage)


def coverage_and_width(
    intervals: ConformalIntervals, y_log: np.ndarray, pred_log: np.ndarray, groups: Sequence[Any] | np.ndarray
) -> dict[str, float]:
    """Share of rows whose truth lies within the interval, and the mean half-width (log1p units)."""
    halfwidth = intervals.halfwidths(groups)
    inside = np.abs(np.asarray(y_log, dtype=float) - np.asarray(pred_log, dtype=float)) <= halfwidth
    return {"coverage": float(inside.mean()), "mean_log_halfwidth": float(halfwidth.mean())}
