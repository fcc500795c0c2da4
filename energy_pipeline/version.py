"""The code version recorded with every trained model."""

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


@cache
def source_version() -> str:
    """Digest of the package's own source: every asset's Dagster code version. Same source and same input data
    versions mean the same output, so a re-materialization with nothing changed can be skipped; any edit to the
    package makes every asset stale (conservative, never wrong)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    sources = (p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml"))
    hash_files(digest, package, (p for p in sources if "__pycache__" not in p.parts))
    return digest.hexdigest()[:16]
