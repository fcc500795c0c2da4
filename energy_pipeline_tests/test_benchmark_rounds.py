"""The serving benchmark's rounds: which run it reports, and the order it runs the configurations in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from energy_pipeline.benchmarks import serving


def _run(requests_per_second: float, p50_ms: float, errors: int = 0) -> dict[str, Any]:
    return {
        "connections": 1,
        "requests": int(requests_per_second * 10),
        "requests_per_second": requests_per_second,
        "p50_ms": p50_ms,
        "p99_ms": 2 * p50_ms,
        "errors": errors,
    }


def test_the_median_run_by_requests_per_second_is_reported_with_every_round() -> None:
    runs = [_run(600.0, 1.5), _run(264.0, 3.6, errors=2), _run(480.0, 1.9)]
    reported = serving.median_run(runs)
    assert reported["requests_per_second"] == 480.0
    assert reported["p50_ms"] == 1.9
    assert reported["requests"] == 4800
    assert [r["requests_per_second"] for r in reported["rounds"]] == [600.0, 264.0, 480.0]  # in the order run
    assert [r["errors"] for r in reported["rounds"]] == [0, 2, 0]  # a round's errors are never hidden


def test_configurations_are_interleaved_round_by_round(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []

    def fake_wrk(url: str, script: Path, connections: int) -> dict[str, Any]:
        calls.append((url, connections))
        return _run(100.0 * len(calls), 1.0)

    monkeypatch.setattr(serving, "wrk", fake_wrk)
    monkeypatch.setattr(serving, "ROUNDS", 3)
    configurations = {"c1": ("u/predict", Path("s.lua"), 1), "c8": ("u/predict", Path("s.lua"), 8)}
    reported = serving.interleaved(configurations)
    assert calls == [("u/predict", 1), ("u/predict", 8)] * 3
    # c1 ran as calls 1, 3, 5 (100, 300, 500 req/s) and c8 as calls 2, 4, 6: each reports its own median
    assert reported["c1"]["requests_per_second"] == 300.0
    assert reported["c8"]["requests_per_second"] == 400.0
