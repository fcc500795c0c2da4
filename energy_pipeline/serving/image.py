"""Containerizing the Bento with docker or buildah (daemonless, rootless-friendly settings)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import bentoml

DEFAULT_BASE_IMAGE = "python:3.11-slim"  # BentoML's default for Python 3.11
BUILDAH_ENV = {"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}  # work as root without a daemon


@dataclass(frozen=True)
class BuiltImage:
    name: str  # local name:tag
    backend: str  # the builder that holds it, and so the one that pushes it

    @property
    def tag(self) -> str:
        return self.name.rsplit(":", 1)[1]


class ImageBuildError(RuntimeError):
    """The builder produced no image; carries what it printed."""


def build_image(bento_tag: str, image: str, backend: str) -> None:
    """`bentoml.container.build` logs a failed build and returns normally, so the image is looked up afterwards and
    its absence raised with the builder's own error (an unreachable base image, a failing pip install...)."""
    with temporary_environment(BUILDAH_ENV if backend == "buildah" else {}):
        with _errors_logged_by("bentoml") as errors:
            bentoml.container.build(bento_tag, backend=backend, image_tag=(image,))  # type: ignore[call-overload]
        if not image_exists(image, backend):
            said = "\n".join(errors).strip()[-2000:] or "no error reported"
            raise ImageBuildError(f"{backend} did not produce {image}:\n{said}")


@contextmanager
def temporary_environment(values: dict[str, str]) -> Iterator[None]:
    """BentoML reads the builder's settings from the process environment: set them for one build only."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _errors_logged_by(name: str) -> Iterator[list[str]]:
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.ERROR)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def image_exists(image: str, backend: str) -> bool:
    args = ["docker", "image", "inspect", image] if backend == "docker" else ["buildah", "images", "--quiet", image]
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **BUILDAH_ENV}, check=False)
    return done.returncode == 0 and bool(done.stdout.strip())


def image_size_bytes(image: str, backend: str) -> int:
    if backend == "docker":
        inspected = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=True
        ).stdout
        return int(inspected.strip())
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
