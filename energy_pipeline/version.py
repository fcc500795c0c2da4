"""The code version recorded with every trained model."""

import hashlib
import subprocess
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


@cache
def source_version() -> str:
    """Digest of the package's own source: every asset's Dagster code version. Same source and same input data
    versions mean the same output, so a re-materialization with nothing changed can be skipped; any edit to the
    package makes every asset stale (conservative, never wrong)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
