"""How each training asset's cost grows with data: the real cleaned rows of every shipped year replicated x1 and
x10, each copy a new set of buildings with its floor areas, floors and coordinates jittered. Each training step
runs as its asset runs it (the default candidates on the default grid and the protocol's grouped splits; the
forward evaluation of every candidate; the final fit and the held-out scoring), one target (site energy), each
step in its own child process so its wall time and peak memory are its own. A step reads the one before's output
from a scratch folder, as an asset reads its input; MLflow logging is left out (it does not grow with rows).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import machine
from energy_pipeline.models.features import USE_GFAS

FACTORS = (1, 10)
STEPS = ("training_data", "candidates", "forward_evaluation", "model")
JITTERED = ("property_gfa_total", "property_gfa_parking", "property_gfa_buildings", *USE_GFAS)
SEED = 42


def cleaned_rows() -> pd.DataFrame:
    from energy_pipeline.data.cleaning import clean_buildings
    from energy_pipeline.data.harmonise import harmonise
    from energy_pipeline.data.ingest import read_benchmarking_csv
    from energy_pipeline.data.validation import validate_raw
    from energy_pipeline.orchestration.settings import PROJECT_ROOT

    frames = []
    for path in sorted((PROJECT_ROOT / "data" / "raw").glob("*-building-energy-benchmarking.csv")):
        year = int(path.name[:4])
        raw = harmonise(read_benchmarking_csv(path))
        frames.append(clean_buildings(raw, validate_raw(raw, year, 0.01).invalid_rows).cleaned)
    return pd.concat(frames, ignore_index=True)


def replicated(cleaned: pd.DataFrame, factor: int) -> pd.DataFrame:
    """`factor` copies; copy k > 0 gets new building ids and +-5% on areas, floors and targets, +-0.002 deg."""
    from energy_pipeline.core.columns import BUILDING_ID, TARGETS

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


def run_step(factor: int, step: str, scratch: Path) -> None:
    """Child: one training step on `factor` x the data, its input read from and its output written to `scratch`."""
    from bench.search import default_search, default_settings
    from energy_pipeline.core.columns import TARGET_ENERGY
    from energy_pipeline.models.features import MODEL_INPUTS
    from energy_pipeline.models.forward import evaluate_forward
    from energy_pipeline.models.intervals import INTERVAL_COVERAGE
    from energy_pipeline.models.modelling import HOLDOUT, training_frame
    from energy_pipeline.models.protocol import log_target
    from energy_pipeline.models.training import evaluate_holdout, fit_final, select_winner

    def load(name: str) -> Any:
        with (scratch / f"{name}.pkl").open("rb") as file:
            return pickle.load(file)

    def save(name: str, value: object) -> None:
        with (scratch / f"{name}.pkl").open("wb") as file:
            pickle.dump(value, file)

    if step == "training_data":
        frame = training_frame(replicated(cleaned_rows(), factor))
        save(step, frame)
        print(len(frame), flush=True)
        return
    frame = load("training_data")
    train, held_out = frame[~frame[HOLDOUT]], frame[frame[HOLDOUT]]
    X = train[list(MODEL_INPUTS)]
    settings = default_settings()
    if step == "candidates":
        save(step, default_search(train, TARGET_ENERGY, settings))
    elif step == "forward_evaluation":
        y_all, flags = log_target(frame, TARGET_ENERGY), frame[HOLDOUT].to_numpy()
        for result in load("candidates"):
            evaluate_forward(result.estimator, frame, y_all, flags, INTERVAL_COVERAGE, settings.n_jobs)
    elif step == "model":
        winner = select_winner(load("candidates"), settings.max_model_bytes)[0]
        final = fit_final(winner, X, train[TARGET_ENERGY].to_numpy())
        evaluate_holdout(final, held_out[list(MODEL_INPUTS)], held_out[TARGET_ENERGY].to_numpy())
    print(len(frame), flush=True)


def _child(factor: int, step: str, scratch: Path) -> dict[str, Any]:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", "-m", "bench", "growth-one", str(factor), step, str(scratch)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    rows = int(process.stdout.read().strip().splitlines()[-1]) if process.stdout else 0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"growth child x{factor} {step} failed with status {status}")
    return {
        "factor": factor,
        "step": step,
        "rows": rows,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run_growth_benchmark() -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for factor in FACTORS:
        with tempfile.TemporaryDirectory(prefix=f"growth-x{factor}-") as scratch:
            for step in STEPS:
                steps.append(_child(factor, step, Path(scratch)))
                print(f"growth x{factor} {step}: {steps[-1]}", file=sys.stderr, flush=True)
    base = {s["step"]: s for s in steps if s["factor"] == FACTORS[0]}
    for measured in steps:
        reference = base[measured["step"]]
        measured["wall_over_x1"] = round(measured["wall_seconds"] / reference["wall_seconds"], 2)
        measured["memory_over_x1"] = round(measured["peak_rss_mb"] / reference["peak_rss_mb"], 2)
    return {
        "machine": machine(),
        "setting": {
            "target": "site energy",
            "candidates": "DEFAULT_CANDIDATES",
            "grid": "default",
            "cv": "5 grouped folds, seed 42",
            "n_jobs": 2,
        },
        "steps": steps,
    }
