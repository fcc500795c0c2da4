"""The serving benchmark: which run it reports, the order it runs the configurations in, and its model-free floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import serving
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.request_guards import DEFAULT_MAX_BODY_BYTES
from energy_pipeline.serving.schemas import EXAMPLE_BUILDING


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


def test_the_model_share_is_measured_against_the_model_free_floor() -> None:
    http = {
        "c1": _run(500.0, 2.0),
        "c1_no_model": _run(1250.0, 0.8),
        "c8": _run(1000.0, 8.0),
        "c8_no_model": _run(2500.0, 3.2),
    }
    assert serving.model_share(http) == {"c1_p50": 0.6, "c8_requests_per_second": 0.6}


def test_the_floor_service_validates_and_guards_as_the_service_does() -> None:
    """The floor is only a floor if it pays for the same handling: the same schema, the same guards."""
    with serving.served(serving.FLOOR_SERVICE, working_dir=PROJECT_ROOT) as (base, _, _):
        answer = httpx.post(f"{base}/predict", json={"building": EXAMPLE_BUILDING}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.json()["site_energy_use_kbtu"] == {"prediction": 1.0, "lower_80": 0.5, "upper_80": 2.0}
        refused = httpx.post(f"{base}/predict", json={"building": {**EXAMPLE_BUILDING, "year_built": 2999}}, timeout=10)
        assert refused.status_code == 400 and "year_built" in refused.text
        too_large = httpx.post(
            f"{base}/predict", content=b"x" * (DEFAULT_MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
        )
        assert too_large.status_code == 413
