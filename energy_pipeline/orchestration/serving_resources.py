"""Resources of the serving half: how the Bento and its image are built, and where the image is pushed."""

import shutil
import subprocess

import dagster as dg
from pydantic import Field

from energy_pipeline.serving.registry import EcrRepository

BACKENDS = ("docker", "buildah")


class BentoPackaging(dg.ConfigurableResource):
    base_image: str = Field(default="", description="Base image of the serving image (empty: BentoML's default)")
    python_version: str = Field(default="3.11", description="Python of the image; matches the base image")


class ImageBuilder(dg.ConfigurableResource):
    """`auto` picks docker when a daemon answers, else buildah when installed, else skips the image."""

    backend: str = Field(default="auto", description="auto | docker | buildah | none")
    image_name: str = Field(default="energy-pipeline-serving")

    def available(self) -> tuple[str | None, str]:
        """(backend, why): the backend to use, or None with the reason there is none."""
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
                if shutil.which("buildah"):
                    return "buildah", "buildah is installed"
                reasons.append("buildah is not installed")
        return None, "; ".join(reasons)


class EcrRegistry(dg.ConfigurableResource):
    """Our own ECR resource (dagster-aws ships only ECR Public): region, repository, optional endpoint."""

    region: str = Field(default="", description="AWS region; empty means no registry is configured")
    repository: str = Field(default="energy-pipeline-serving")
    registry_id: str | None = Field(default=None, description="AWS account id, when not the caller's")
    endpoint_url: str = Field(default="", description="ECR API endpoint override (moto in tests); empty: AWS")
    tls_verify: bool = Field(default=True, description="Verify the registry's TLS (off only for a local test registry)")

    @property
    def configured(self) -> bool:
        return bool(self.region)

    def repository_client(self) -> EcrRepository:
        return EcrRepository(self.region, self.repository, self.endpoint_url or None, self.registry_id)
