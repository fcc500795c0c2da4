"""Choosing the winner with its serving cost: among the candidates whose CV score is within one standard error of
the best, the cheapest to serve wins (the "one-standard-error rule": differences smaller than the splits' own
noise are not evidence, while a larger model costs every request, the Bento, the image and the cold start).

The cost that decides is the fitted model's serialized size: it is what the Bento and the image carry and what
a cold start reads, and it is deterministic, so the same inputs choose the same winner. The single-building
scoring time is measured and recorded beside it, but a timing on a shared machine is noise-prone and would
make the choice irreproducible.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TIMING_CALLS = 50


@dataclass(frozen=True)
class ServingCost:
    size_bytes: int  # the fitted model, pickled: a stacking's members included
    single_row_ms: float  # median of TIMING_CALLS one-building predictions through the compiled scorer
    scorer: str  # how it was scored: the compiled family, or why the pipeline itself

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def serving_cost(estimator: Any, example_rows: pd.DataFrame) -> ServingCost:
    """Size and single-building time of a fitted model on its raw inputs, as the service would score it."""
    from energy_pipeline.serving.fast_scoring import compile_model, frame_columns

    scorer = compile_model(estimator, example_rows.head(3))
    one = frame_columns(example_rows.head(1))
    scorer.predict(one)  # first call builds caches
    times = []
    for _ in range(TIMING_CALLS):
        start = time.perf_counter()
        scorer.predict(one)
        times.append(time.perf_counter() - start)
    return ServingCost(
        size_bytes=len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)),
        single_row_ms=float(np.median(times)) * 1e3,
        scorer=f"{scorer.kind}: {scorer.detail}",
    )


@dataclass(frozen=True)
class Contender:
    """What the rule needs of a candidate."""

    name: str
    cv_mean: float  # R²(log), mean over the splits
    cv_std: float
    splits: int
    size_bytes: int | None  # None: not measured (a failed candidate)

    @property
    def standard_error(self) -> float:
        return self.cv_std / math.sqrt(max(self.splits, 1))


@dataclass(frozen=True)
class Choice:
    winner: str
    best: str  # the best by CV alone
    threshold: float  # best's mean minus its standard error
    within: tuple[str, ...]  # the candidates at or above the threshold, within the budget
    over_budget: tuple[str, ...]
    reason: str


def choose(contenders: Sequence[Contender], max_size_bytes: int | None = None) -> Choice:
    """The one-standard-error rule over the candidates within the size budget; ties in size go to the better."""
    over = tuple(c.name for c in contenders if max_size_bytes is not None and (c.size_bytes or 0) > max_size_bytes)
    eligible = [c for c in contenders if c.name not in over]
    if not eligible:
        raise ValueError(
            f"no candidate fits the serving budget of {max_size_bytes} bytes: "
            + ", ".join(f"{c.name} {c.size_bytes}" for c in contenders)
        )
    best = max(eligible, key=lambda c: c.cv_mean)
    threshold = best.cv_mean - best.standard_error
    within = sorted((c for c in eligible if c.cv_mean >= threshold), key=lambda c: (c.size_bytes or 0, -c.cv_mean))
    winner = within[0]
    reason = (
        f"{winner.name} is the best by CV R²(log) ({best.cv_mean:.4f})"
        if winner is best
        else f"{winner.name} ({winner.cv_mean:.4f}, {(winner.size_bytes or 0) / 1e6:.2f} MB) is within one standard "
        f"error of the best, {best.name} ({best.cv_mean:.4f} ± {best.standard_error:.4f}, "
        f"{(best.size_bytes or 0) / 1e6:.2f} MB), and the cheapest to serve"
    )
    if over:
        reason += f"; over the {max_size_bytes / 1e6:.0f} MB budget: {', '.join(over)}"  # type: ignore[operator]
    return Choice(
        winner=winner.name,
        best=best.name,
        threshold=threshold,
        within=tuple(c.name for c in within),
        over_budget=over,
        reason=reason,
    )
