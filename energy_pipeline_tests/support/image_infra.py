"""What the image test builds for itself with Debian's tools: a private registry standing in for ECR's registry,
and a bridge that records pushed images in moto the way ECR lists them. The private buildah store, the offline
base image and running an image come from `bench.local_images`, shared with the image
benchmark.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx
import pytest

from bench.local_images import run
from energy_pipeline_tests.support.services import free_port, running_server

IMAGE_TOOLS = ("buildah", "skopeo", "debootstrap", "docker-registry", "htpasswd")


def missing_tools() -> list[str]:
    return [tool for tool in IMAGE_TOOLS if shutil.which(tool) is None]


@contextmanager
def image_tools_environment(values: dict[str, str]) -> Iterator[None]:
    """Skips, saying why, where the Debian image tools are missing; else `values` set in the environment (a
    private buildah store, logins) until the module's tests are done."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"Debian packages not installed: {', '.join(missing)} (`make image-tools` needs root and apt)")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        yield


@contextmanager
def htpasswd_registry(folder: Path, username: str, password: str) -> Iterator[str]:
    """Docker's registry on 127.0.0.1 behind htpasswd: the push endpoint, with ECR's credentials."""
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "htpasswd"
    run(["htpasswd", "-Bbc", str(users), username, password])
    port = free_port()
    config = folder / "config.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "version": 0.1,
                "storage": {"filesystem": {"rootdirectory": str(folder / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
                "auth": {"htpasswd": {"realm": "ecr-test", "path": str(users)}},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}  # it reads them as config
    args = ["docker-registry", "serve", str(config)]
    with running_server(args, folder / "registry.log", "/v2/", port, expect=401, env=env):  # 401: auth is on
        yield f"127.0.0.1:{port}"


@contextmanager
def ecr_listing_bridge(
    registry: str, credentials: tuple[str, str], ecr_endpoint: str, region: str, repository: str
) -> Iterator[dict[str, str]]:
    """Plays ECR's part after a push: each new tag in the registry is read with `skopeo inspect` and recorded in
    moto with `put_image(imageDigest=…)`, so `describe_images` answers as ECR would. Returns tag -> digest."""
    ecr = boto3.client("ecr", region_name=region, endpoint_url=ecr_endpoint)
    recorded: dict[str, str] = {}
    stop = threading.Event()
    creds = ["--tls-verify=false", "--creds", ":".join(credentials)]

    def tags() -> list[str]:
        listed = httpx.get(f"http://{registry}/v2/{repository}/tags/list", auth=credentials, timeout=5)
        return (listed.json().get("tags") or []) if listed.status_code == 200 else []

    def watch() -> None:
        while not stop.wait(0.5):
            for tag in set(tags()) - set(recorded):
                ref = f"docker://{registry}/{repository}:{tag}"
                manifest = run(["skopeo", "inspect", "--raw", *creds, ref]).stdout
                digest = run(["skopeo", "inspect", "--format", "{{.Digest}}", *creds, ref]).stdout.strip()
                ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest)
                recorded[tag] = digest

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        stop.set()
        thread.join(timeout=30)
