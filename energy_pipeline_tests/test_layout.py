"""The package is sliced by stage: in each of `data/`, `models/`, `serving/` and `operations/`, `defs.py` is the
only module that imports Dagster, the code location merges exactly those slices, the serving code never imports
the orchestration side, and the benchmarks live outside the installed package."""

import ast
from pathlib import Path

import dagster as dg
import pytest

from energy_pipeline.core.version import PACKAGE
from energy_pipeline.orchestration.settings import PROJECT_ROOT

STAGES = ("data", "models", "serving", "operations")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("stage", STAGES)
def test_defs_is_the_only_module_of_a_stage_that_imports_dagster(stage: str) -> None:
    modules = sorted((PACKAGE / stage).rglob("*.py"))
    assert PACKAGE / stage / "defs.py" in modules
    importing = [p.relative_to(PACKAGE).as_posix() for p in modules if "dagster" in _top_level(_imports(p))]
    assert importing == [f"{stage}/defs.py"]


def test_the_code_location_is_the_stages_defs_merged() -> None:
    imported = _imports(PACKAGE / "definitions.py")
    assert {f"energy_pipeline.{stage}" for stage in STAGES} <= imported
    from energy_pipeline import defs
    from energy_pipeline.data import defs as data
    from energy_pipeline.models import defs as models
    from energy_pipeline.operations import defs as operations
    from energy_pipeline.serving import defs as serving

    stage_assets = {key for stage in (data, models, serving) for asset in stage.defs.assets or [] for key in asset.keys}  # type: ignore[union-attr]
    assert set(defs.resolve_all_asset_keys()) == stage_assets
    assert {job.name for job in operations.defs.jobs or []} == {
        job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")
    }
    assert isinstance(defs, dg.Definitions)


def test_the_serving_code_never_imports_the_orchestration_side() -> None:
    dagster_side = ("energy_pipeline.orchestration", "energy_pipeline.definitions", "energy_pipeline.cli")
    for path in sorted((PACKAGE / "serving").rglob("*.py")):
        if path.name == "defs.py":
            continue
        bad = sorted(n for n in _imports(path) if n.startswith(dagster_side) or n.endswith(".defs"))
        assert not bad, (path.relative_to(PACKAGE).as_posix(), bad)


def test_the_benchmarks_are_outside_the_installed_package() -> None:
    assert (PROJECT_ROOT / "bench" / "__main__.py").is_file()
    for path in sorted(PACKAGE.rglob("*.py")):
        assert "bench" not in _top_level(_imports(path)), path.relative_to(PACKAGE).as_posix()
