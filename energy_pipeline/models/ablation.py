"""What each feature group is worth: the protocol's CV score with the group switched off (or on, for the
optional ENERGY STAR score), with one fixed, fast model so the differences come from the features alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import cross_validate

from energy_pipeline.models.candidates import CANDIDATES, build_pipeline
from energy_pipeline.models.features import DEFAULT_GROUPS, FEATURE_GROUPS
from energy_pipeline.models.protocol import SCORERS, Split, summarise_cv

ABLATION_MODEL = "lightgbm"
ABLATION_PARAMS = {"num_leaves": 7, "min_child_samples": 10}  # the tuned region of both targets' searches
ALL_FEATURES = "all default groups"


def ablation_configs() -> dict[str, tuple[str, ...]]:
    configs = {ALL_FEATURES: DEFAULT_GROUPS}
    configs.update({f"without {g}": tuple(x for x in DEFAULT_GROUPS if x != g) for g in DEFAULT_GROUPS})
    configs["with energy_star"] = (*DEFAULT_GROUPS, "energy_star")
    return configs


def ablation_table(X: pd.DataFrame, y: np.ndarray, splits: Sequence[Split], n_jobs: int) -> pd.DataFrame:
    """One row per configuration; `delta_r2_log` > 0 means the configuration scores better than all groups."""
    rows = []
    for label, groups in ablation_configs().items():
        estimator = CANDIDATES[ABLATION_MODEL].make_estimator().set_params(**ABLATION_PARAMS)
        pipeline = build_pipeline(estimator, groups)
        scores = summarise_cv(cross_validate(pipeline, X, y, cv=list(splits), scoring=SCORERS, n_jobs=n_jobs))
        group = label.split(" ", 1)[1] if label != ALL_FEATURES else ""
        rows.append(
            {
                "configuration": label,
                "r2_log": scores["r2_log_mean"],
                "r2_log_std": scores["r2_log_std"],
                "median_ape": scores["median_ape_mean"],
                "reason": FEATURE_GROUPS[group][1] if group else "",
            }
        )
    table = pd.DataFrame(rows)
    table["delta_r2_log"] = table["r2_log"] - table.loc[0, "r2_log"]
    table["verdict"] = [
        _verdict(label, delta) for label, delta in zip(table["configuration"], table["delta_r2_log"], strict=True)
    ]
    return table


def _verdict(label: str, delta: float) -> str:
    if label == ALL_FEATURES:
        return "reference"
    if label.startswith("with "):
        return "adds" if delta > 0 else "adds nothing"
    return "helps" if delta < 0 else "no measurable help: kept for its domain reason"
