"""The code version recorded with every trained model."""

import ast
import hashlib
import subprocess
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@cache
def code_version() -> str:
    """`<package version>+<git sha>` inside a checkout, the package version alone elsewhere (e.g. an image)."""
    try:
        base = version("energy-pipeline")
    except PackageNotFoundError:
        base = "0+unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+{sha}" if sha else base


def hash_files(digest: "hashlib._Hash", root: Path, paths: Iterable[Path]) -> None:
    """Feed each file's path (relative to root) and bytes to `digest`, in sorted order: renames count too."""
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


PACKAGE = Path(__file__).parent.parent  # energy_pipeline/, from energy_pipeline/core/
DATA_SUFFIXES = (".yaml", ".sh")  # files a module of the same folder reads at run time (bentofile, image script)


def _module_file(root: Path, name: str) -> Path | None:
    """`energy_pipeline.a.b` -> its file under `root` (the package folder), or None outside the package."""
    parts = name.split(".")
    if parts[0] != root.name:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path, root: Path) -> set[str]:
    """Every module name `path` imports, at any depth of its code (lazy imports inside functions count too)."""
    package = ".".join((root.name, *path.relative_to(root).with_suffix("").parts))
    package = package.removesuffix(".__init__") if path.name == "__init__.py" else package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return names


def imported_files(modules: Iterable[str], root: Path = PACKAGE) -> list[Path]:
    """The package's files that `modules` import, directly or not, with the data files of their folders. A
    package's `__init__` counts only when it is imported by name: importing `a.b` does not make `a`'s code part of
    what `a.b` computes."""
    pending = [f for f in (_module_file(root, m) for m in modules) if f is not None]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending.extend(f for f in (_module_file(root, n) for n in _imported_names(path, root)) if f is not None)
    data = {p for folder in {f.parent for f in seen} for p in folder.iterdir() if p.suffix in DATA_SUFFIXES}
    return sorted(seen | data)


@cache
def source_version(module: str, root: Path = PACKAGE) -> str:
    """The Dagster code version of the assets defined in `module`: a digest of the code they run, i.e. the
    package's files `module` imports. Same code and same input data versions mean the same output, so an edit to
    the CLI, the benchmarks or the serving code leaves the data and training assets fresh."""
    digest = hashlib.sha256()
    hash_files(digest, root, imported_files([module], root))
    return digest.hexdigest()[:16]
