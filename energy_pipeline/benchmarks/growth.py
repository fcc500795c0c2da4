"""How training cost grows with data: the real cleaned rows replicated x1, x5 and x10, each copy a new set of
buildings with its floor areas, floors and coordinates jittered, trained the way the training assets train
(grid search on the protocol's grouped splits, then the final fit), each size in its own child process so its
peak memory is its own.

A reduced, fixed setting keeps x10 within minutes on 2 cores: three families (ridge, extra_trees, lightgbm), the
`tiny` grid and one CV seed (5 folds). The default grid multiplies every figure by about its number of
combinations; the shape of the growth is what this reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from energy_pipeline.benchmarks.common import machine
from energy_pipeline.domain.features import USE_GFAS

FACTORS = (1, 5, 10)
FAMILIES = ("ridge", "extra_trees", "lightgbm")
JITTERED = ("property_gfa_total", "property_gfa_parking", "property_gfa_buildings", *USE_GFAS)
SEED = 42


def cleaned_rows() -> pd.DataFrame:
    from energy_pipeline.domain.cleaning import clean_buildings
    from energy_pipeline.domain.harmonise import harmonise
    from energy_pipeline.domain.ingest import read_benchmarking_csv
    from energy_pipeline.domain.validation import validate_raw
    from energy_pipeline.orchestration.settings import PROJECT_ROOT

    frames = []
    for path in sorted((PROJECT_ROOT / "data" / "raw").glob("*-building-energy-benchmarking.csv")):
        year = int(path.name[:4])
        raw = harmonise(read_benchmarking_csv(path))
        frames.append(clean_buildings(raw, validate_raw(raw, year, 0.01).invalid_rows).cleaned)
    return pd.concat(frames, ignore_index=True)


def replicated(cleaned: pd.DataFrame, factor: int) -> pd.DataFrame:
    """`factor` copies; copy k > 0 gets new building ids and +-5% on areas, floors and targets, +-0.002 deg."""
    from energy_pipeline.domain.columns import BUILDING_ID, TARGETS

    rng = np.random.default_rng(SEED)
    copies = [cleaned]
    for k in range(1, factor):
        copy = cleaned.copy()
        copy[BUILDING_ID] = copy[BUILDING_ID] + k * 10_000_000  # new buildings, same id type
        scale = rng.uniform(0.95, 1.05, size=len(copy))
        for column in (*JITTERED, *TARGETS):
            copy[column] = copy[column] * scale
        for column in ("latitude", "longitude"):
            copy[column] = copy[column] + rng.uniform(-0.002, 0.002, size=len(copy))
        copy["number_of_floors"] = np.maximum(1, np.round(copy["number_of_floors"] * scale))
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def train_once(factor: int) -> None:
    """Child: tune the families and fit the winner on `factor` x the data."""
    from energy_pipeline.domain.columns import BUILDING_ID, TARGET_ENERGY
    from energy_pipeline.domain.features import MODEL_INPUTS
    from energy_pipeline.domain.protocol import Protocol, log_target
    from energy_pipeline.domain.training import fit_final, select_winner, tune_candidate
    from energy_pipeline.modelling import HOLDOUT, training_frame

    frame = training_frame(replicated(cleaned_rows(), factor))
    train = frame[~frame[HOLDOUT]]
    X, y = train[list(MODEL_INPUTS)], log_target(train, TARGET_ENERGY)
    splits = Protocol(seeds=(42,)).splits(train[BUILDING_ID])
    results = [tune_candidate(name, X, y, splits, "tiny", n_jobs=2) for name in FAMILIES]
    fit_final(select_winner(results)[0], X, train[TARGET_ENERGY].to_numpy())
    print(len(frame), flush=True)


def _child(factor: int) -> dict[str, Any]:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-m", "energy_pipeline.bench", "growth-one", str(factor)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    rows = int(process.stdout.read().strip().splitlines()[-1]) if process.stdout else 0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"growth child x{factor} failed with status {status}")
    return {
        "factor": factor,
        "rows": rows,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run_growth_benchmark() -> dict[str, Any]:
    sizes = [_child(factor) for factor in FACTORS]
    base = sizes[0]
    for size in sizes:
        size["wall_over_x1"] = round(size["wall_seconds"] / base["wall_seconds"], 2)
        size["memory_over_x1"] = round(size["peak_rss_mb"] / base["peak_rss_mb"], 2)
    return {
        "machine": machine(),
        "setting": {"families": list(FAMILIES), "grid": "tiny", "cv": "5 grouped folds, seed 42", "n_jobs": 2},
        "sizes": sizes,
    }
