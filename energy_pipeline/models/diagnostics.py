"""Why the winner won: predicted vs actual, residuals by property type, and feature importance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from energy_pipeline.core.columns import TargetSpec


def predicted_vs_actual(y_true: np.ndarray, y_pred: np.ndarray, target: TargetSpec) -> plt.Figure:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for axis, transform, scale in ((axes[0], np.log1p, "log1p"), (axes[1], lambda v: v, "original")):
        truth, predicted = transform(y_true), transform(y_pred)
        axis.scatter(truth, predicted, s=6, alpha=0.5)
        low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
        axis.plot([low, high], [low, high], color="red", linewidth=1)
        axis.set_xlabel(f"actual {target.label} ({scale}, {target.unit})")
        axis.set_ylabel("predicted")
    figure.suptitle(f"{target.label}: predicted vs actual on the held-out buildings")
    figure.tight_layout()
    return figure


def residuals_by_property_type(
    property_types: pd.Series, y_true: np.ndarray, y_pred: np.ndarray, target: TargetSpec
) -> plt.Figure:
    residuals = pd.Series(np.log1p(y_pred) - np.log1p(y_true), index=property_types.index)
    order = residuals.groupby(property_types).median().sort_values().index
    figure, axis = plt.subplots(figsize=(9, 7))
    axis.boxplot(
        [residuals[property_types == t] for t in order],
        orientation="horizontal",
        tick_labels=list(order),
        showfliers=False,
    )
    axis.axvline(0, color="red", linewidth=1)
    axis.set_xlabel(f"log residual (predicted - actual), {target.label}")
    figure.suptitle("Residuals by primary property type (held-out)")
    figure.tight_layout()
    return figure


def permutation_importances(
    model: BaseEstimator, X: pd.DataFrame, y_log: np.ndarray, seed: int = 42, repeats: int = 5
) -> pd.DataFrame:
    """Drop in held-out R² (log) when one raw input is shuffled: importance of what a client sends."""
    result = permutation_importance(model, X, y_log, scoring="r2", n_repeats=repeats, random_state=seed, n_jobs=1)
    return (
        pd.DataFrame({"feature": X.columns, "importance": result.importances_mean, "std": result.importances_std})
        .sort_values("importance", ascending=False)
        .reset_index(drop=True)
    )


def model_importances(pipeline: BaseEstimator) -> pd.DataFrame | None:
    """The estimator's own importances (trees) or |coefficients| (linear), by engineered feature."""
    steps = getattr(pipeline, "named_steps", None)
    if not steps or "model" not in steps:
        return None
    estimator = steps["model"]
    values = getattr(estimator, "feature_importances_", None)
    if values is None and hasattr(estimator, "coef_"):
        values = np.abs(np.ravel(estimator.coef_))
    if values is None:
        return None
    names = pipeline[:-1].get_feature_names_out()
    return (
        pd.DataFrame({"feature": names, "importance": values})
        .sort_values("importance", ascending=False)
        .reset_index(drop=True)
    )


def importance_figure(table: pd.DataFrame, title: str, top: int = 20) -> plt.Figure:
    shown = table.head(top).iloc[::-1]
    figure, axis = plt.subplots(figsize=(8, max(3.0, 0.3 * len(shown))))
    axis.barh(shown["feature"], shown["importance"], xerr=shown.get("std"))
    axis.set_title(title)
    figure.tight_layout()
    return figure


def forward_figure(table: pd.DataFrame, target: TargetSpec) -> plt.Figure:
    """R²(log), median APE and 80% interval coverage per scored year, for all buildings and for new ones."""
    yearly = table[table["year"] != "pooled"] if len(table) else table
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    for axis, metric, reference in (
        (axes[0], "r2_log", None),
        (axes[1], "median_ape", None),
        (axes[2], "coverage", 0.8),
    ):
        for population, rows in yearly.groupby("population"):
            axis.plot(rows["year"].astype(int), rows[metric], marker="o", label=f"{population} buildings")
        if reference is not None:
            axis.axhline(reference, color="grey", linewidth=1, linestyle="--")
        axis.set_title(metric)
        axis.set_xlabel("scored year (fitted on the years before)")
    axes[0].legend()
    figure.suptitle(f"{target.label}: forward evaluation")
    figure.tight_layout()
    return figure
