"""The serving image: its size, its build time and its cold start to `/readyz`, side by side with the same Bento
under `bentoml serve` on the host.

The image is built daemonless with buildah, exactly as the `serving_image` asset builds it (`build_image`), in a
private image store that is thrown away afterwards. Its base image is the packaging default (`python:3.11-slim`)
when the registry is reachable; otherwise an offline Debian bookworm built with debootstrap, and the Bento is
rebuilt on that base (a new Bento version: the base image is part of its digest).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.local_images import build_offline_base_image, buildah_env, running_image
from bench.serving import free_port, served
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.image import build_image, image_size_bytes, temporary_environment

STARTS = 3
TOOLS = ("buildah", "debootstrap")


def _bento_on(bento: str, base_image: str, python_version: str) -> str:
    """The same champions and code packaged on `base_image` (a no-op when the Bento already is)."""
    import bentoml

    from energy_pipeline.serving.bento_build import Champion, build_bento
    from energy_pipeline.serving.service import TARGET_LABEL

    champions = []
    for info in bentoml.get(bento).info.all_models:
        labels = bentoml.models.get(info.tag).info.labels
        target = info.alias or labels.get(TARGET_LABEL, "")
        if "run_id" not in labels:
            raise SystemExit(f"{bento} predates run ids in its models: rebuild it with `make run`")
        champions.append(
            Champion(
                target, labels["registered_model"], labels["registered_version"], labels["winner"], labels["run_id"]
            )
        )
    return str(build_bento(champions, PROJECT_ROOT, base_image, python_version).tag)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def run_image_benchmark(bento: str = "energy_pipeline:latest", starts: int = STARTS) -> dict[str, Any]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"not installed: {', '.join(missing)} (`make image-tools` as root installs them)")
    import bentoml

    from energy_pipeline.orchestration.serving_resources import BentoPackaging, ImageBuilder

    packaging = BentoPackaging()
    with tempfile.TemporaryDirectory(prefix="energy-pipeline-image-bench-") as folder:
        root = Path(folder)
        with temporary_environment(buildah_env(root / "storage")):
            backend, why = ImageBuilder(backend="buildah").available(packaging.base_image)
            base_image = packaging.base_image
            if backend is None:
                base_image = build_offline_base_image(root / "base")
            tag = _bento_on(str(bentoml.get(bento).tag), base_image, packaging.python_version)
            image = f"energy-pipeline-serving:{bentoml.get(tag).tag.version}"
            started = time.perf_counter()
            build_image(tag, image, "buildah")
            build_seconds = time.perf_counter() - started
            size_mb = image_size_bytes(image, "buildah") / 2**20
            base_mb = image_size_bytes(base_image, "buildah") / 2**20
            runs = []
            for attempt in range(starts):
                with running_image(image, free_port(), root / f"container-{attempt}.log") as running:
                    runs.append(running)
        host_ready = []
        for _ in range(starts):
            with served(tag) as (_, ready_seconds, _):
                host_ready.append(ready_seconds)
    in_image, on_host = _median([r.ready_seconds for r in runs]), _median(host_ready)
    return {
        "machine": machine(),
        "bento": tag,
        "image": image,
        "base_image": base_image,
        "base_image_note": "" if backend else f"offline Debian bookworm (debootstrap): {why}",
        "builder": "buildah (vfs storage, chroot isolation)",
        "build_seconds": round(build_seconds, 1),
        "size_mb": round(size_mb, 1),
        "base_image_mb": round(base_mb, 1),
        "added_to_base_mb": round(size_mb - base_mb, 1),  # what the Bento brings: its packages, code and models
        "cold_start": {
            "runs": starts,
            "container_create_seconds_p50": _median([r.create_seconds for r in runs]),
            "entrypoint_to_readyz_seconds_p50": in_image,
            "bentoml_serve_on_host_to_readyz_seconds_p50": on_host,
            "image_over_host": round(in_image / on_host, 2),
        },
    }
