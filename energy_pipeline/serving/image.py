"""Containerizing the Bento with docker or buildah (daemonless, rootless-friendly settings)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

import bentoml

BUILDAH_ENV = {"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}  # work as root without a daemon


@dataclass(frozen=True)
class BuiltImage:
    name: str  # local name:tag
    backend: str  # the builder that holds it, and so the one that pushes it

    @property
    def tag(self) -> str:
        return self.name.rsplit(":", 1)[1]


def build_image(bento_tag: str, image: str, backend: str) -> None:
    env = BUILDAH_ENV if backend == "buildah" else {}
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        bentoml.container.build(bento_tag, backend=backend, image_tag=(image,))
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def image_size_bytes(image: str, backend: str) -> int:
    if backend == "docker":
        out = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=True
        ).stdout
        return int(out.strip())
    out = (
        subprocess.run(
            ["buildah", "images", "--format", "{{.Size}}", image],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **BUILDAH_ENV},
        )
        .stdout.strip()
        .splitlines()
    )
    return _parse_size(out[0]) if out else 0


def _parse_size(text: str) -> int:
    """buildah prints human sizes such as '512 MB' or '1.2 GB' (decimal units)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKMG]?B)\s*", text)
    if not match:
        raise ValueError(f"unexpected image size {text!r}")
    return int(float(match[1]) * {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9}[match[2]])
