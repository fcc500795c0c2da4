"""The versions uv.lock pins for this interpreter and platform."""

from __future__ import annotations

import tomllib

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from energy_pipeline.orchestration.settings import PROJECT_ROOT


def locked_here() -> dict[str, str]:
    """The locked version of each package for this interpreter and platform (the lock is universal: a package
    may have one entry per Python range, each with the markers it resolves for)."""
    return {
        canonicalize_name(p["name"]): p["version"]
        for p in tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())["package"]
        if "version" in p and any(Marker(m).evaluate() for m in p.get("resolution-markers", ["python_version >= '3'"]))
    }
