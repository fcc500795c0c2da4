"""The first look a data scientist takes at the buildings data, rendered as PNG files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers or CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from energy_pipeline.core.columns import DATA_YEAR, TARGET_ENERGY, TARGET_GHG, TARGETS
from energy_pipeline.data.cleaning import REJECTION_REASON

_TARGET_LABELS = {TARGET_ENERGY: "site energy use (kBtu)", TARGET_GHG: "GHG emissions (t CO2e)"}


def render_profile(raw: pd.DataFrame, cleaned: pd.DataFrame, rejected: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Write the profile plots to `out_dir`; returns title -> file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: dict[str, tuple[Callable[..., Figure], tuple[pd.DataFrame, ...]]] = {
        "Targets, raw and log scale": (_targets, (cleaned,)),
        "Missing values per column (harmonised raw)": (_missing_values, (raw,)),
        "Outliers: energy against floor area": (_outliers, (cleaned, rejected)),
        "Targets by primary property type": (_by_property_type, (cleaned,)),
    }
    written: dict[str, Path] = {}
    for index, (title, (draw, frames)) in enumerate(plots.items(), start=1):
        figure = draw(*frames)
        figure.suptitle(title)
        figure.tight_layout()
        path = out_dir / f"{index:02d}_{draw.__name__.strip('_')}.png"
        figure.savefig(path, dpi=80)
        plt.close(figure)
        written[title] = path
    return written


def _years(frame: pd.DataFrame) -> list[int]:
    return sorted(int(y) for y in frame[DATA_YEAR].dropna().unique())


def _targets(cleaned: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    for row, target in enumerate(TARGETS):
        for year in _years(cleaned):
            values = cleaned.loc[cleaned[DATA_YEAR] == year, target]
            axes[row, 0].hist(values, bins=60, alpha=0.5, label=str(year))
            axes[row, 1].hist(np.log1p(values), bins=60, alpha=0.5, label=str(year))
        axes[row, 0].set_xlabel(_TARGET_LABELS[target])
        axes[row, 1].set_xlabel(f"log1p {_TARGET_LABELS[target]}")
        axes[row, 0].legend()
    return figure


def _missing_values(raw: pd.DataFrame) -> plt.Figure:
    shares = raw.groupby(DATA_YEAR).agg(lambda s: s.isna().mean()).T
    shares = shares.loc[shares.max(axis=1) > 0].sort_values(shares.columns[-1])
    figure, axis = plt.subplots(figsize=(10, max(3.0, 0.28 * len(shares))))
    shares.plot.barh(ax=axis)
    axis.set_xlabel("share of rows missing")
    axis.set_xlim(0, 1)
    return figure


def _outliers(cleaned: pd.DataFrame, rejected: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    flagged = rejected[rejected[REJECTION_REASON].str.startswith("flagged_outlier")]
    for axis, target in zip(axes, TARGETS, strict=True):
        axis.scatter(
            np.log1p(cleaned["property_gfa_total"]),
            np.log1p(cleaned[target]),
            s=4,
            alpha=0.4,
            color="grey",
            label="kept",
        )
        if not flagged.empty:
            axis.scatter(
                np.log1p(flagged["property_gfa_total"]),
                np.log1p(flagged[target].clip(lower=0)),
                s=10,
                color="red",
                label="flagged outlier (rejected)",
            )
        axis.set_xlabel("log1p total floor area (sq ft)")
        axis.set_ylabel(f"log1p {_TARGET_LABELS[target]}")
        axis.legend()
    return figure


def _by_property_type(cleaned: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(1, 2, figsize=(13, 7), sharey=True)
    order = cleaned.groupby("primary_property_type")[TARGET_ENERGY].median().sort_values().index
    for axis, target in zip(axes, TARGETS, strict=True):
        data = [np.log1p(cleaned.loc[cleaned["primary_property_type"] == t, target]) for t in order]
        axis.boxplot(data, orientation="horizontal", tick_labels=list(order), showfliers=False)
        axis.set_xlabel(f"log1p {_TARGET_LABELS[target]}")
    return figure
