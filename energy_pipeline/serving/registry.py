"""Pushing the serving image to AWS ECR with boto3. Plain Python; the same code talks to AWS or to moto."""

from __future__ import annotations

import base64
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config


@dataclass(frozen=True)
class RegistryLogin:
    username: str
    password: str
    endpoint: str  # https://<account>.dkr.ecr.<region>.amazonaws.com (or the local registry in tests)


@dataclass(frozen=True)
class PushedImage:
    uri: str
    digest: str
    tags: list[str]


class EcrRepository:
    def __init__(
        self, region: str, repository: str, endpoint_url: str | None = None, registry_id: str | None = None
    ) -> None:
        retry = Config(retries={"max_attempts": 5, "mode": "adaptive"})  # transient AWS errors back off
        self.client: Any = boto3.client("ecr", region_name=region, endpoint_url=endpoint_url, config=retry)
        self.repository = repository
        self.registry_id = registry_id

    def _ids(self) -> dict[str, Any]:
        return {"registryId": self.registry_id} if self.registry_id else {}

    def ensure(self) -> str:
        """The repository URI, creating the repository (scan on push, immutable tags) if it is missing."""
        try:
            found = self.client.describe_repositories(repositoryNames=[self.repository], **self._ids())
            return found["repositories"][0]["repositoryUri"]
        except self.client.exceptions.RepositoryNotFoundException:
            created = self.client.create_repository(
                repositoryName=self.repository,
                imageTagMutability="IMMUTABLE",
                imageScanningConfiguration={"scanOnPush": True},
                **self._ids(),
            )
            return created["repository"]["repositoryUri"]

    def login(self) -> RegistryLogin:
        data = self.client.get_authorization_token(**({"registryIds": [self.registry_id]} if self.registry_id else {}))[
            "authorizationData"
        ][0]
        username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        return RegistryLogin(username=username, password=password, endpoint=data["proxyEndpoint"])

    def describe(self, tag: str) -> dict[str, Any] | None:
        try:
            images = self.client.describe_images(
                repositoryName=self.repository, imageIds=[{"imageTag": tag}], **self._ids()
            )
        except self.client.exceptions.ImageNotFoundException:
            return None
        return images["imageDetails"][0] if images["imageDetails"] else None

    def wait_for(self, tag: str, attempts: int = 8, first_delay: float = 0.5) -> dict[str, Any] | None:
        """ECR lists a pushed image after a short delay: ask again with exponential backoff."""
        delay = first_delay
        for attempt in range(attempts):
            details = self.describe(tag)
            if details is not None or attempt == attempts - 1:
                return details
            time.sleep(delay)
            delay *= 2
        return None


def push_with(builder: str, local_image: str, remote_image: str, login: RegistryLogin, tls_verify: bool = True) -> None:
    """Log the builder (docker or buildah) in with the ECR token and push the image."""
    host = login.endpoint.removeprefix("https://").removeprefix("http://")
    flags = [] if tls_verify or builder == "docker" else ["--tls-verify=false"]
    subprocess.run(
        [builder, "login", *flags, "--username", login.username, "--password-stdin", host],
        input=login.password,
        text=True,
        check=True,
        capture_output=True,
    )
    if builder == "docker":
        subprocess.run(["docker", "tag", local_image, remote_image], check=True, capture_output=True)
        subprocess.run(["docker", "push", remote_image], check=True, capture_output=True)
    else:
        subprocess.run(
            ["buildah", "push", *flags, local_image, f"docker://{remote_image}"], check=True, capture_output=True
        )
