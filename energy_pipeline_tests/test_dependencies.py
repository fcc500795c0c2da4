"""Dependencies: every imported package declared, the private APIs of libraries gathered and bounded, and the
environment, the lock and the Bento's pins one and the same set of versions."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.bento_build import BOOSTING_PACKAGES, SERVING_PACKAGES
from energy_pipeline_tests.support.locked_versions import locked_here

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
PRIVATE_APIS = PROJECT_ROOT / "energy_pipeline" / "private_apis"
OWN = {"energy_pipeline", "energy_pipeline_tests", "bench"}  # bench: the benchmarks, beside the package


def _requirements(*extras: str) -> dict[str, Requirement]:
    listed = [*PYPROJECT["dependencies"], *(r for extra in extras for r in PYPROJECT["optional-dependencies"][extra])]
    return {canonicalize_name(r.name): r for r in map(Requirement, listed)}


def _imports(folder: Path) -> dict[Path, set[str]]:
    """Each file's imported module names (lazy imports inside functions too)."""
    found: dict[Path, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        found[path] = names
    return found


def _third_party(names: set[str]) -> set[str]:
    tops = {name.split(".")[0] for name in names}
    return {top for top in tops if top not in sys.stdlib_module_names and top not in OWN and top != "__future__"}


def _undeclared(folder: str, declared: dict[str, Requirement]) -> dict[str, list[str]]:
    providers = packages_distributions()
    missing: dict[str, list[str]] = {}
    for names in _imports(PROJECT_ROOT / folder).values():
        for top in _third_party(names):
            if not {canonicalize_name(d) for d in providers.get(top, [])} & set(declared):
                missing[top] = providers.get(top, ["<not installed>"])
    return missing


def test_every_package_the_code_imports_is_declared() -> None:
    assert _undeclared("energy_pipeline", _requirements()) == {}


def test_every_package_the_tests_and_benchmarks_import_is_declared_with_the_dev_extra() -> None:
    assert _undeclared("energy_pipeline_tests", _requirements("dev")) == {}
    assert _undeclared("bench", _requirements("dev")) == {}


def test_private_apis_are_used_in_one_module_per_library_and_those_libraries_are_capped() -> None:
    outside = {
        path.relative_to(PROJECT_ROOT).as_posix(): sorted(n for n in names if _private(n))
        for path, names in _imports(PROJECT_ROOT / "energy_pipeline").items()
        if PRIVATE_APIS not in path.parents and any(_private(n) for n in names)
    }
    assert outside == {}
    inside = {n.split(".")[0] for names in _imports(PRIVATE_APIS).values() for n in names if _private(n)}
    assert inside == {"dagster", "bentoml", "lightgbm"}
    requirements = _requirements()
    for library in inside:
        assert any(spec.operator == "<" for spec in requirements[library].specifier), library


def _private(name: str) -> bool:
    top, *rest = name.split(".")
    return top in _third_party({name}) and any(part.startswith("_") for part in rest)


def test_the_lock_satisfies_the_declared_bounds_and_the_environment_is_the_lock() -> None:
    """`make install` installs uv.lock exactly: what runs here is what the lock says, within pyproject's bounds."""
    locked = locked_here()
    for name, requirement in _requirements("dev").items():
        assert requirement.specifier.contains(locked[name], prereleases=True), (name, locked[name])
        assert version(name) == locked[name], (name, version(name), locked[name])


def test_the_bento_pins_the_locked_versions() -> None:
    locked = locked_here()
    for name in (*SERVING_PACKAGES, *BOOSTING_PACKAGES):
        assert locked[canonicalize_name(name)] == version(name), name
