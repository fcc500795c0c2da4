"""Serving speed, side by side in one run: the champions in-process (compiled scorer and the plain pipeline) and the
latest Bento served over HTTP on localhost under `wrk` (Debian's load generator, with a Lua body script).

Single-building requests at concurrency 1, 8 and 32, and 1,000-building batches; requests/s, p50, p99 and
errors (each configuration ROUNDS times, interleaved; the median run); the served/in-process ratios; the time
from `bentoml serve` to `/readyz` (median of STARTS starts); and the server's memory. Beside the Bento, with its
single-building runs: the Bento with its access log off, with BentoML's per-request tracing put back, and the
model-free floor (`floor_service.py`) with and without that tracing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench.common import machine, percentiles
from bench.local_images import wait_for_http
from bench.requests import real_buildings
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.fast_scoring import PipelineScorer
from energy_pipeline.serving.schemas import EXAMPLE_BUILDING, Building

WRK_SECONDS = 10
# Each configuration runs ROUNDS times, the configurations interleaved, and the run with the median requests/s is
# reported: on a shared machine one 10 s run of the same server ranged from 264 to 606 req/s in one afternoon.
ROUNDS = 3
CONCURRENCY = (1, 8, 32)
BATCH = 1000
FLOOR_SERVICE = "bench.floor_service:ServingFloor"
STARTS = 3  # time to /readyz varies by a few tenths of a second from one start to the next: the median is reported


def _timed(call: Callable[[], object], repeat: int) -> dict[str, float]:
    for _ in range(min(20, repeat)):
        call()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def in_process(bento: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The service's own predictor (compiled scorers) and the same models through their sklearn pipelines."""
    import bentoml

    from energy_pipeline.serving.service import EnergyService, use_models_of

    use_models_of(bentoml.get(bento))
    predictor = EnergyService.inner().predictor  # type: ignore[attr-defined]  # added by @bentoml.service
    one, batch = [Building(**EXAMPLE_BUILDING)], [Building(**b) for b in bodies]
    compiled = {
        "one_building": _timed(lambda: predictor.predict(one), 2000),
        f"batch_{BATCH}": _timed(lambda: predictor.predict(batch), 50),
    }
    pipelines = {key: PipelineScorer(model.estimator, "benchmark") for key, model in predictor.models.items()}

    def through_pipelines(buildings: list[Building]) -> None:
        columns = predictor.columns(buildings)
        for scorer in pipelines.values():
            scorer.predict(columns)

    pipeline = {
        "one_building": _timed(lambda: through_pipelines(one), 200),
        f"batch_{BATCH}": _timed(lambda: through_pipelines(batch), 20),
    }
    return {
        "scoring": {key: model.card.scoring for key, model in predictor.models.items()},
        "compiled": compiled,
        "pipeline": pipeline,
        "pipeline_over_compiled_p50": {
            size: round(pipeline[size]["p50_ms"] / compiled[size]["p50_ms"], 1) for size in compiled
        },
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ACCESS_LOG_OFF = {"BENTOML_CONFIG_OPTIONS": "services.energy_pipeline.logging.access.enabled=false"}


def traced(service: str) -> dict[str, str]:
    """BentoML's default per-request tracing put back (the service leaves its routes out of it: `tracing.py`)."""
    from energy_pipeline.serving.tracing import routes_traced_option  # imports BentoML, as `run_serving_benchmark`

    return {"BENTOML_CONFIG_OPTIONS": routes_traced_option(service)}


@contextmanager
def served(
    bento: str, env: dict[str, str] | None = None, working_dir: Path | None = None
) -> Iterator[tuple[str, float, psutil.Process]]:
    """`bentoml serve <bento>` (or a `module:Service` under `working_dir`); yields its URL, the seconds it took to
    answer /readyz, and its process."""
    port = free_port()
    bentoml_cli = str(Path(sys.executable).with_name("bentoml"))
    args = [bentoml_cli, "serve", bento, "--host", "127.0.0.1", "--port", str(port)]
    if working_dir is not None:
        args += ["--working-dir", str(working_dir)]
    started = time.perf_counter()
    environment = {**os.environ, **(env or {})}
    with tempfile.TemporaryDirectory() as folder, (Path(folder) / "server.log").open("wb") as log:
        server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=environment)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{base}/readyz", server, Path(log.name), timeout=300)
            yield base, time.perf_counter() - started, psutil.Process(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _lua_body(route_body: dict[str, Any], folder: Path, name: str) -> Path:
    script = folder / f"{name}.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(route_body))}\n"
    )
    return script


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 3)


def wrk(url: str, script: Path, connections: int, seconds: int = WRK_SECONDS) -> dict[str, Any]:
    threads = min(connections, 2)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, flags=re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "connections": connections,
        "requests": requests,
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _milliseconds(latency["50"]),
        "p99_ms": _milliseconds(latency["99"]),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median requests/s, every run's figures beside it (a single run says little here)."""
    ordered = sorted(runs, key=lambda run: run["requests_per_second"])
    fields = ("requests_per_second", "p50_ms", "p99_ms", "errors")
    return {**ordered[len(ordered) // 2], "rounds": [{key: run[key] for key in fields} for run in runs]}


def interleaved(configurations: dict[str, tuple[str, Path, int]]) -> dict[str, dict[str, Any]]:
    """Every configuration ROUNDS times, one round of all of them after another, so that a slow spell of the
    machine falls on all of them alike; the median run of each."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configurations}
    for _ in range(ROUNDS):
        for name, (url, script, connections) in configurations.items():
            runs[name].append(wrk(url, script, connections))
    return {name: median_run(each) for name, each in runs.items()}


def model_share(http: dict[str, dict[str, Any]]) -> dict[str, float]:
    """How much of a served single building is the model: the share of the p50 at c=1 above the model-free floor
    (`floor_service.py`: the same API, validation and guards), and the share of the floor's requests/s at c=8
    that the model costs."""
    return {
        "c1_p50": round(1 - http["c1_no_model"]["p50_ms"] / http["c1"]["p50_ms"], 2),
        "c8_requests_per_second": round(
            1 - http["c8"]["requests_per_second"] / http["c8_no_model"]["requests_per_second"], 2
        ),
    }


def _single_building_runs(
    target: str, suffix: str, env: dict[str, str] | None = None, working_dir: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Single buildings at c=1 and c=8 against a server of its own, after a warm-up; keyed `c<n><suffix>`."""
    with tempfile.TemporaryDirectory() as folder, served(target, env, working_dir) as (base, _, _):
        single = _lua_body({"building": EXAMPLE_BUILDING}, Path(folder), "single")
        wrk(f"{base}/predict", single, 8, seconds=3)  # warm-up
        return interleaved({f"c{c}{suffix}": (f"{base}/predict", single, c) for c in (1, 8)})


def _rss_mb(process: psutil.Process) -> float:
    return round(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20, 1)


def run_serving_benchmark(bento: str = "energy_pipeline:latest") -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (or `make bench-tools` as root)")
    import bentoml

    from energy_pipeline.serving.service import SERVICE_NAME

    tag = str(bentoml.get(bento).tag)
    bodies = real_buildings(BATCH)
    local = in_process(tag, bodies)
    with tempfile.TemporaryDirectory() as folder, served(tag) as (base, ready_seconds, process):
        single = _lua_body({"building": EXAMPLE_BUILDING}, Path(folder), "single")
        batch = _lua_body({"buildings": bodies}, Path(folder), "batch")
        wrk(f"{base}/predict", single, 8, seconds=3)  # warm-up
        idle_mb = _rss_mb(process)
        http = interleaved(
            {f"c{c}": (f"{base}/predict", single, c) for c in CONCURRENCY}
            | {f"batch_{BATCH}_c1": (f"{base}/predict_batch", batch, 1)}
        )
        loaded_mb = _rss_mb(process)
    starts = [ready_seconds]
    for _ in range(STARTS - 1):
        with served(tag) as (_, seconds, _):
            starts.append(seconds)
    http |= _single_building_runs(tag, "_access_log_off", env=ACCESS_LOG_OFF)
    http |= _single_building_runs(FLOOR_SERVICE, "_no_model", working_dir=PROJECT_ROOT)
    http |= _single_building_runs(tag, "_traced", env=traced(SERVICE_NAME))
    http |= _single_building_runs(
        FLOOR_SERVICE, "_no_model_traced", env=traced("serving_floor"), working_dir=PROJECT_ROOT
    )
    compiled = local["compiled"]
    return {
        "machine": machine(),
        "bento": tag,
        "load_generator": f"wrk on localhost: {ROUNDS} interleaved runs of {WRK_SECONDS} s per configuration, "
        "the run with the median requests/s reported",
        "ready_seconds": round(statistics.median(starts), 2),
        "ready_seconds_each_start": [round(seconds, 2) for seconds in starts],
        "in_process": local,
        "http": http,
        "server_rss_mb": {"after_warm_up": idle_mb, "after_load": loaded_mb},
        "model_share_of_served": model_share(http),
        "served_over_in_process_p50": {
            "one_building_c1": round(http["c1"]["p50_ms"] / compiled["one_building"]["p50_ms"], 1),
            f"batch_{BATCH}": round(http[f"batch_{BATCH}_c1"]["p50_ms"] / compiled[f"batch_{BATCH}"]["p50_ms"], 2),
        },
    }
