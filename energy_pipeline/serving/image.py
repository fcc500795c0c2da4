"""Containerizing the Bento with docker or buildah (daemonless, rootless-friendly settings)."""

from __future__ import annotations

import os
import subprocess

import bentoml

BUILDAH_ENV = {"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}  # work as root without a daemon


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
    number, unit = text.replace(" ", "")[:-2], text.replace(" ", "")[-2:].upper()
    scale = {"KB": 10**3, "MB": 10**6, "GB": 10**9}.get(unit, 1)
    return int(float(number) * scale) if unit in ("KB", "MB", "GB") else int(float(text.rstrip("B")))
