"""What every benchmark result records: the machine, and percentiles of its samples."""

from __future__ import annotations

import os
import platform
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
