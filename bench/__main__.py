"""Wall time and peak memory of each asset: `python -m bench` (what `make bench` runs).

Each asset (each partition for partitioned ones) is materialized in its own child process on a fresh instance,
in dependency order, so `os.wait4` gives that child's own peak RSS. A child that only imports the project is
measured too: subtract it to see what an asset itself costs. Then the whole `make run` graph runs as one process,
twice: from scratch, then `--changed-only` with nothing changed (`bench/graph.py`). Benchmarks report;
they never pass or fail on time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from bench.common import RESULTS, fresh_instance_env, machine, run_bench_child
from energy_pipeline.core import names
from energy_pipeline.core.columns import TARGET_SPECS

PARTITIONED = (names.RAW_BUILDINGS, names.CLEANED_BUILDINGS)
STEP_ASSETS = {names.CLEANED_BUILDINGS: (names.CLEANED_BUILDINGS, names.REJECTED_BUILDINGS)}  # one multi-asset step
UNPARTITIONED = (
    names.BUILDINGS_PROFILE,
    names.TRAINING_DATA,
    names.FEATURE_ABLATION,
    *(
        asset(target.key)
        for target in TARGET_SPECS
        for asset in (names.candidates_asset, names.forward_evaluation_asset, names.model_asset)
    ),
)


def _child(args: list[str], env: dict[str, str]) -> dict[str, float]:
    child = run_bench_child(args, env)
    if child.exit_code != 0:
        raise RuntimeError(f"benchmark child {args} failed with exit code {child.exit_code}")
    return {"wall_seconds": round(child.wall_seconds, 2), "peak_rss_mb": child.peak_rss_mb}


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


def _landing_years() -> list[str]:
    from energy_pipeline.orchestration.data_resources import LandingZone
    from energy_pipeline.orchestration.resources import local_resources

    landing = local_resources()["landing"]
    assert isinstance(landing, LandingZone)
    return sorted(landing.year_files())


def _ingest_steps(env: dict[str, str]) -> list[dict[str, Any]]:
    """The import-only child, then each year's raw and cleaned steps (one child each)."""
    steps: list[dict[str, Any]] = [{"asset": "(import only)", **_child(["import-only"], env)}]
    for asset in PARTITIONED:
        for year in _landing_years():
            steps.append({"asset": asset, "partition": year, **_child(["one", asset, year], env)})
    return steps


def run_ingest_benchmark() -> dict[str, Any]:
    """Each year's ingest, what an asset costs beyond the import being `wall - import only`."""
    with fresh_instance_env() as env:
        steps = _ingest_steps(env)
    return {"machine": machine(), "steps": steps}


def run_benchmark() -> dict[str, Any]:
    with fresh_instance_env() as env:
        steps = _ingest_steps(env)
        for asset in UNPARTITIONED:
            steps.append({"asset": asset, **_child(["one", asset], env)})
    total = sum(float(s["wall_seconds"]) for s in steps[1:])
    from bench.graph import run_graph_benchmark

    return {
        "machine": machine(),
        "steps": steps,
        "total_wall_seconds": round(total, 1),
        **run_graph_benchmark(),
    }


def _write(name: str, result: dict[str, Any]) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS / f'{name}.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    modes = ["all", "ingest", "one", "import-only", "graph-one", "serving", "growth", "growth-one", "image", "forward"]
    parser.add_argument("mode", nargs="?", default="all", choices=modes)
    parser.add_argument("asset", nargs="?")
    parser.add_argument("partition", nargs="?")
    parser.add_argument("scratch", nargs="?", help="growth-one: the folder a step reads its input from")
    args = parser.parse_args(argv)
    if args.mode == "import-only":
        import energy_pipeline.definitions  # noqa: F401 - what every child pays before its asset

        return 0
    if args.mode == "one":
        materialize_one(args.asset, args.partition)
        return 0
    if args.mode == "graph-one":
        from bench.graph import run_graph_child

        return run_graph_child(args.asset, changed_only=args.partition == "changed-only")
    if args.mode == "growth-one":
        from bench.growth import run_step

        run_step(int(args.asset), args.partition, Path(args.scratch))
        return 0
    if args.mode == "growth":
        from bench.growth import run_growth_benchmark

        return _write("growth", run_growth_benchmark())
    if args.mode == "image":
        from bench.image import run_image_benchmark

        return _write("image", run_image_benchmark())
    if args.mode == "forward":
        from bench.forward import print_table, run_forward_benchmark

        result = run_forward_benchmark()
        code = _write("forward", result)
        print_table(result)
        return code
    if args.mode == "ingest":
        return _write("ingest", run_ingest_benchmark())
    if args.mode == "serving":
        from bench.serving import run_serving_benchmark

        return _write("serving", run_serving_benchmark())
    report = run_benchmark()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(report, indent=2))
    print(f"{'asset':28} {'partition':9} {'wall s':>8} {'peak MB':>8}")
    for step in report["steps"]:
        print(f"{step['asset']:28} {step.get('partition', ''):9} {step['wall_seconds']:>8} {step['peak_rss_mb']:>8}")
    print(f"total wall (excluding import-only): {report['total_wall_seconds']} s on {report['machine']}")
    for label in ("whole_graph_one_run", "changed_only_rerun_nothing_changed"):
        run = report[label]
        print(
            f"{label}: {run['wall_seconds']} s, peak {run['peak_rss_mb']} MB, {run.get('assets_materialized')} "
            f"assets materialized, jobs skipped as fresh: {run.get('jobs_skipped_fresh')}"
        )
    print(f"written to {RESULTS / 'pipeline.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
