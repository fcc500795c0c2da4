"""The whole `make run` graph as one measured run, then `run --changed-only` with nothing changed upstream.

Both go through `energy_pipeline.cli.run_pipeline` (what `make run` calls) in a child process on a fresh Dagster
home and MLflow store, so wall time and peak RSS are the whole graph's. The second run says what a
re-materialization with unchanged exports and code costs, and which jobs it skips as fresh.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from bench.common import fresh_instance_env, run_bench_child
from energy_pipeline.core import names
from energy_pipeline.core.names import Meta


def run_graph_child(summary_path: str, changed_only: bool) -> int:
    """Child: the whole graph on DAGSTER_HOME, its outcome written to `summary_path`."""
    from energy_pipeline.cli import run_pipeline

    with dg.DagsterInstance.get() as instance:
        reports = run_pipeline(instance, changed_only=changed_only)
    materialized = [asset for report in reports for asset in report.materialized]
    summary = {
        "success": bool(reports) and all(r.success for r in reports),
        "jobs_run": [r.label for r in reports if not r.fresh],
        "jobs_skipped_fresh": [r.label for r in reports if r.fresh],
        "assets_materialized": len(materialized),
        "assets_skipped": sorted({a for r in reports for a in r.skipped}),
        "models": {
            asset: {
                key: report.materialized[asset].get(key)
                for key in (Meta.WINNER, Meta.REGISTERED_VERSION, Meta.DECISION, Meta.REASON, Meta.HOLDOUT_R2_LOG)
            }
            for report in reports
            for asset in names.MODEL_ASSETS
            if asset in report.materialized
        },
    }
    Path(summary_path).write_text(json.dumps(summary, default=str))
    return 0 if summary["success"] else 1


def _measured_run(env: dict[str, str], summary_path: Path, changed_only: bool) -> dict[str, Any]:
    child = run_bench_child(["graph-one", str(summary_path), "changed-only" if changed_only else "full"], env)
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"success": False}
    return {
        "exit_code": child.exit_code,
        "wall_seconds": round(child.wall_seconds, 1),
        "peak_rss_mb": child.peak_rss_mb,
        **summary,
    }


def run_graph_benchmark() -> dict[str, Any]:
    with fresh_instance_env() as env, tempfile.TemporaryDirectory() as summaries:
        first = _measured_run(env, Path(summaries, "first.json"), changed_only=False)
        again = _measured_run(env, Path(summaries, "again.json"), changed_only=True)
    return {
        "whole_graph_one_run": first,
        "changed_only_rerun_nothing_changed": again,
        "rerun_over_first_wall_ratio": round(float(again["wall_seconds"]) / float(first["wall_seconds"]), 2),
    }
