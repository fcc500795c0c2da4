"""Resources of the serving half: how the Bento and its image are built, and where the image is pushed."""

import os
import shutil
import subprocess
from typing import Literal

import dagster as dg
from pydantic import Field

from energy_pipeline.serving.image import BUILDAH_ENV, DEFAULT_BASE_IMAGE
from energy_pipeline.serving.registry import EcrRepository

BACKENDS = ("docker", "buildah")
BuilderChoice = Literal["auto", "docker", "buildah", "none"]


class BentoPackaging(dg.ConfigurableResource):
    base_image: str = Field(
        default=DEFAULT_BASE_IMAGE, description="Base image of the serving image; it must provide python3 and pip"
    )
    python_version: str = Field(default="3.11", description="Python of the image; matches the base image")


class ImageBuilder(dg.ConfigurableResource):
    """`auto` picks docker when a daemon answers, else buildah when installed, else skips the image."""

    backend: BuilderChoice = Field(default="auto", description="docker, buildah, the first available, or none")
    image_name: str = Field(default="energy-pipeline-serving")

    def available(self, base_image: str) -> tuple[str | None, str]:
        """(backend, why): the backend to use, or None with the reason there is none.

        buildah has no daemon to ask, so being installed is not enough: it must also reach the base image
        (local or pullable), otherwise a machine without registry access would fail the run instead of skipping.
        """
        wanted = BACKENDS if self.backend == "auto" else (self.backend,)
        if self.backend == "none":
            return None, "image building is switched off (builder.backend=none)"
        reasons = []
        for backend in wanted:
            if backend == "docker":
                if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
                    return "docker", "docker daemon answers"
                reasons.append("no docker daemon answers")
            elif backend == "buildah":
                if not shutil.which("buildah"):
                    reasons.append("buildah is not installed")
                    continue
                pulled = subprocess.run(
                    ["buildah", "pull", "--quiet", base_image],
                    capture_output=True,
                    text=True,
                    env={**os.environ, **BUILDAH_ENV},
                )
                if pulled.returncode == 0:
                    return "buildah", f"buildah is installed and has {base_image}"
                last_line = (pulled.stderr.strip().splitlines() or ["no error output"])[-1]
                reasons.append(f"buildah cannot get base image {base_image}: {last_line}")
        return None, "; ".join(reasons)


class EcrRegistry(dg.ConfigurableResource):
    """Our own ECR resource (dagster-aws ships only ECR Public): region, repository, optional endpoint."""

    region: str = Field(default="", description="AWS region; empty means no registry is configured")
    repository: str = Field(default="energy-pipeline-serving")
    registry_id: str | None = Field(default=None, description="AWS account id, when not the caller's")
    endpoint_url: str = Field(default="", description="ECR API endpoint override (moto in tests); empty: AWS")
    tls_verify: bool = Field(default=True, description="Verify the registry's TLS (off only for a local test registry)")
    registry_host: str = Field(
        default="", description="Host[:port] to push to; empty: the repository URI host (AWS); tests: a local registry"
    )

    @property
    def configured(self) -> bool:
        return bool(self.region)

    def repository_client(self) -> EcrRepository:
        return EcrRepository(self.region, self.repository, self.endpoint_url or None, self.registry_id)
