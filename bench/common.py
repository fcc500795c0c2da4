"""What every benchmark result records: the machine, and percentiles of its samples."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from energy_pipeline.orchestration.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"


def machine() -> dict[str, object]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}


def percentiles(samples: list[float]) -> dict[str, float]:
    """Milliseconds from seconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


@contextmanager
def fresh_instance_env() -> Iterator[dict[str, str]]:
    """Environment for benchmark children: a throwaway Dagster home and MLflow store, so nothing is cached."""
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as store:
        Path(home, "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
        yield {
            **os.environ,
            "DAGSTER_HOME": home,
            "ENERGY_PIPELINE_MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
            "ENERGY_PIPELINE_MLFLOW_ARTIFACTS": f"{store}/artifacts",
            "ENERGY_PIPELINE_ARTIFACTS_DIR": f"{store}/plots",
        }


@dataclass(frozen=True)
class ChildRun:
    exit_code: int
    wall_seconds: float
    peak_rss_mb: float  # `os.wait4`: the child's own peak (and its reaped children's), not the parent's


def run_bench_child(args: list[str], env: dict[str, str]) -> ChildRun:
    """`python -m bench <args>` in a child process, timed, with its own peak RSS."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "bench", *args], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    return ChildRun(
        exit_code=os.waitstatus_to_exitcode(status),
        wall_seconds=time.perf_counter() - start,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
    )
