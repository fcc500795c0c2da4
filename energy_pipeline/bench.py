"""Wall time and peak memory of each asset: `python -m energy_pipeline.bench` (what `make bench` runs).

Each asset (each partition for partitioned ones) is materialized in its own child process on a fresh instance,
in dependency order, so `os.wait4` gives that child's own peak RSS. A child that only imports the project is
measured too: subtract it to see what an asset itself costs. Benchmarks report; they never pass or fail on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from energy_pipeline.orchestration.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
PARTITIONED = ("raw_buildings", "cleaned_buildings")
STEP_ASSETS = {"cleaned_buildings": ("cleaned_buildings", "rejected_buildings")}  # one multi-asset step
UNPARTITIONED = (
    "buildings_profile",
    "training_data",
    "feature_ablation",
    "site_energy_candidates",
    "site_energy_model",
    "ghg_emissions_candidates",
    "ghg_emissions_model",
)


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
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _child(args: list[str], env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "energy_pipeline.bench", *args], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark child {args} failed with status {status}")
    return {"wall_seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def materialize_one(asset: str, partition: str | None) -> None:
    """Child: materialize one asset (and its checks) on the instance of DAGSTER_HOME."""
    from energy_pipeline import defs
    from energy_pipeline.orchestration.partitions import register_years

    with dg.DagsterInstance.get() as instance:
        if partition:
            register_years(instance, [partition])
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance,
            asset_selection=[dg.AssetKey(key) for key in STEP_ASSETS.get(asset, (asset,))],
            partition_key=partition,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
        if not result.success:
            raise SystemExit(1)


def run_benchmark() -> dict[str, object]:
    from energy_pipeline.orchestration.resources import LandingZone, local_resources

    landing = local_resources()["landing"]
    assert isinstance(landing, LandingZone)
    years = sorted(landing.year_files())
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as mlflow_dir:
        Path(home, "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
        env = {
            **os.environ,
            "DAGSTER_HOME": home,
            "ENERGY_PIPELINE_MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_dir}/mlflow.db",
            "ENERGY_PIPELINE_MLFLOW_ARTIFACTS": f"{mlflow_dir}/artifacts",
            "ENERGY_PIPELINE_ARTIFACTS_DIR": f"{mlflow_dir}/plots",
        }
        steps: list[dict[str, object]] = [{"asset": "(import only)", **_child(["import-only"], env)}]
        for asset in PARTITIONED:
            for year in years:
                steps.append({"asset": asset, "partition": year, **_child(["one", asset, year], env)})
        for asset in UNPARTITIONED:
            steps.append({"asset": asset, **_child(["one", asset], env)})
    total = sum(float(s["wall_seconds"]) for s in steps[1:])
    return {"machine": machine(), "steps": steps, "total_wall_seconds": round(total, 1)}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 3),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


def run_serving_benchmark(requests: int = 300) -> dict[str, object]:
    """One building: in-process `Predictor.predict` against `POST /predict` on the latest Bento (c=1)."""
    import socket

    import bentoml
    import httpx

    from energy_pipeline.serving.schemas import EXAMPLE_BUILDING, Building
    from energy_pipeline.serving.service import EnergyService

    bento = bentoml.get("energy_pipeline:latest")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    service = EnergyService.inner()  # the same predictor the server builds, in this process
    building = Building(**EXAMPLE_BUILDING)
    in_process = []
    for _ in range(requests):
        start = time.perf_counter()
        service.predict(building)
        in_process.append(time.perf_counter() - start)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("bentoml")),
            "serve",
            str(bento.tag),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.perf_counter()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            ready_seconds = time.perf_counter() - started
            body = {"building": EXAMPLE_BUILDING}
            for _ in range(20):
                client.post("/predict", json=body)
            served, errors = [], 0
            for _ in range(requests):
                start = time.perf_counter()
                errors += client.post("/predict", json=body).status_code != 200
                served.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=30)
    local, remote = _percentiles(in_process), _percentiles(served)
    return {
        "machine": machine(),
        "bento": str(bento.tag),
        "requests": requests,
        "concurrency": 1,
        "in_process": local,
        "http": remote,
        "errors": errors,
        "ready_seconds": round(ready_seconds, 2),
        "served_over_in_process_p50": round(remote["p50_ms"] / local["p50_ms"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="energy_pipeline.bench")
    parser.add_argument("mode", nargs="?", default="all", choices=["all", "one", "import-only", "serving"])
    parser.add_argument("asset", nargs="?")
    parser.add_argument("partition", nargs="?")
    args = parser.parse_args(argv)
    if args.mode == "import-only":
        import energy_pipeline.definitions  # noqa: F401 - what every child pays before its asset

        return 0
    if args.mode == "one":
        materialize_one(args.asset, args.partition)
        return 0
    if args.mode == "serving":
        serving = run_serving_benchmark()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "serving.json").write_text(json.dumps(serving, indent=2))
        print(json.dumps(serving, indent=2))
        return 0
    report = run_benchmark()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(report, indent=2))
    print(f"{'asset':28} {'partition':9} {'wall s':>8} {'peak MB':>8}")
    for step in report["steps"]:  # type: ignore[union-attr]
        print(f"{step['asset']:28} {step.get('partition', ''):9} {step['wall_seconds']:>8} {step['peak_rss_mb']:>8}")
    print(f"total wall (excluding import-only): {report['total_wall_seconds']} s on {report['machine']}")
    print(f"written to {RESULTS / 'pipeline.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
