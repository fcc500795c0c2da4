"""Each asset's code version is a digest of the code it runs (the package's files its module imports): an edit to
the CLI, the benchmarks or the serving code leaves the data and training assets fresh, an edit to the domain code
they run makes them stale, and `run --changed-only` after such an edit runs only what depends on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from energy_pipeline.core.version import PACKAGE, imported_files, source_version
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline_tests.conftest import copy_exports

STAGE_DEFS = {stage: f"energy_pipeline.{stage}.defs" for stage in ("data", "models")}  # data and training assets
SERVING = "energy_pipeline.serving.defs"
NOT_MODEL_CODE = ("cli.py", "operations/defs.py", "serving/service.py", "serving/bentofile.yaml")


def _copy_package(folder: Path) -> Path:
    copy = folder / "energy_pipeline"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _edit(package: Path, relative: str) -> None:
    """A change that alters the file's bytes and nothing it does."""
    path = package / relative
    path.write_text(path.read_text() + "\n# edited\n")  # a comment in Python, YAML and shell alike


def _versions(package: Path) -> dict[str, str]:
    modules = {**STAGE_DEFS, "serving": SERVING}
    return {name: source_version.__wrapped__(module, package) for name, module in modules.items()}


def test_the_data_and_training_assets_do_not_run_the_cli_operations_or_serving_code() -> None:
    for stage, module in STAGE_DEFS.items():
        files = {path.relative_to(PACKAGE).as_posix() for path in imported_files([module])}
        assert f"{stage}/defs.py" in files and "core/columns.py" in files
        assert not files & set(NOT_MODEL_CODE), (stage, sorted(files & set(NOT_MODEL_CODE)))
        # the selection times each candidate's compiled scorer: the only serving code training runs
        serving = {f for f in files if f.startswith("serving/") and not f.startswith("serving/fast_scoring/")}
        assert not serving, (stage, sorted(serving))
    assert not any(
        f.startswith("models/")
        for f in (p.relative_to(PACKAGE).as_posix() for p in imported_files([STAGE_DEFS["data"]]))
    )
    serving = {path.relative_to(PACKAGE).as_posix() for path in imported_files([SERVING])}
    assert {"serving/service.py", "serving/bentofile.yaml", "serving/slim_image.sh"} <= serving


def test_an_edit_changes_the_code_version_of_exactly_the_assets_that_run_it(tmp_path: Path) -> None:
    package = _copy_package(tmp_path)
    before = _versions(package)
    assert before == _versions(package)  # a digest, not a timestamp
    for relative in NOT_MODEL_CODE:
        _edit(package, relative)
    after_serving_edit = _versions(package)
    assert {k: v for k, v in after_serving_edit.items() if k != "serving"} == {
        k: v for k, v in before.items() if k != "serving"
    }
    assert after_serving_edit["serving"] != before["serving"]
    _edit(package, "models/features.py")
    after_features_edit = _versions(package)
    assert after_features_edit["data"] == before["data"]  # cleaning does not compute features
    assert after_features_edit["models"] != after_serving_edit["models"]
    _edit(package, "data/harmonise.py")
    assert _versions(package)["data"] != after_features_edit["data"]


# One `run --changed-only` on the copied package, in its own process as a deploy would run it: asset code
# versions are fixed when the code location is imported.
DRIVER = """
import json, sys
from pathlib import Path
import dagster as dg
from energy_pipeline.cli import run_pipeline
from energy_pipeline.orchestration.serving_resources import BentoPackaging, ImageBuilder
from energy_pipeline_tests.support.dagster_helpers import definitions_for
landing, artifacts = Path(sys.argv[1]), Path(sys.argv[2])
defs = definitions_for(
    landing,
    artifacts,
    builder=ImageBuilder(backend="buildah"),
    packaging=BentoPackaging(base_image="localhost/energy-pipeline-tests/absent-base:0"),  # no image: skipped
)
with dg.DagsterInstance.get() as instance:
    reports = run_pipeline(instance, defs, jobs=("ingest_job", "training_job", "serving_job"), changed_only=True)
print(json.dumps({r.label: {"success": r.success, "fresh": r.fresh, "stale": r.stale} for r in reports}))
"""


@pytest.mark.e2e
def test_changed_only_after_an_edit_runs_only_what_depends_on_the_edited_code(tmp_path: Path) -> None:
    package = _copy_package(tmp_path / "checkout")
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    home = tmp_path / "dagster_home"
    home.mkdir()
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "PYTHONPATH": os.pathsep.join([str(package.parent), str(PROJECT_ROOT)]),  # the copy shadows the checkout
    }

    def changed_only() -> dict[str, dict[str, object]]:
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, str(landing), str(tmp_path / "artifacts")],
            env=environment,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        reports = json.loads(done.stdout.strip().splitlines()[-1])
        assert all(report["success"] for report in reports.values()), reports
        return reports

    first = changed_only()
    assert [label for label, report in first.items() if report["fresh"]] == []
    for relative in NOT_MODEL_CODE:
        _edit(package, relative)
    second = changed_only()
    assert second["training"]["fresh"], second  # training's code did not change
    assert not second["serving"]["fresh"] and "bento" in second["serving"]["stale"], second
    _edit(package, "models/features.py")
    third = changed_only()
    assert not third["training"]["fresh"], third
    assert "code version" in json.dumps(third["training"]["stale"]), third
