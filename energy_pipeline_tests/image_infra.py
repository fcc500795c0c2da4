"""What the image test builds for itself with Debian's tools: an offline base image, a private registry standing
in for ECR's registry, and a bridge that records pushed images in moto the way ECR lists them.

Nothing here ships: the host's CA bundle goes into the *test* base image only, so pip/uv inside the build trust
the machine's TLS proxy; the real serving image is built on `python:3.11-slim` without it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil

from energy_pipeline.serving.image import BUILDAH_ENV
from energy_pipeline_tests.services import free_port, running_server, wait_for_http

IMAGE_TOOLS = ("buildah", "skopeo", "debootstrap", "docker-registry", "htpasswd")
TEST_BASE_IMAGE = "localhost/energy-pipeline-test-base:bookworm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def missing_tools() -> list[str]:
    return [tool for tool in IMAGE_TOOLS if shutil.which(tool) is None]


def apt_mirror() -> str:
    """The Debian mirror the machine's own apt sources name (deb822 or one-line format)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text() if source.is_file() else ""
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, flags=re.MULTILINE):
            if "security" not in match[1]:
                return match[1]
    return "http://deb.debian.org/debian"


def buildah_env(storage: Path) -> dict[str, str]:
    """The tests' own image store, so they neither see nor touch the machine's images."""
    conf = storage / "storage.conf"
    if not conf.exists():
        storage.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{storage / "graph"}"\nrunroot = "{storage / "run"}"\n'
        )
    return {**BUILDAH_ENV, "CONTAINERS_STORAGE_CONF": str(conf)}


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """A command whose failure shows its output (buildah's errors are on stderr)."""
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def build_test_base_image(folder: Path) -> str:
    """Debian bookworm minbase with python3 and pip, from the apt mirror: the offline stand-in for python:slim."""
    rootfs = folder / "rootfs"
    run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip", "bookworm", str(rootfs), apt_mirror()])
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/locale"):
        shutil.rmtree(rootfs / leftover, ignore_errors=True)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)  # BentoML's `pip install uv`
    shutil.copy(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")  # test images only
    tarball = folder / "rootfs.tar"
    run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
    shutil.rmtree(rootfs)
    container = run(["buildah", "from", "scratch"]).stdout.strip()
    try:
        run(["buildah", "add", container, str(tarball), "/"])
        cert = str(HOST_CA_BUNDLE)
        run(["buildah", "config", "--env", f"SSL_CERT_FILE={cert}", "--env", f"PIP_CERT={cert}", container])
        run(["buildah", "commit", "--quiet", container, TEST_BASE_IMAGE])
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    tarball.unlink()
    return TEST_BASE_IMAGE


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


@contextmanager
def running_image(image: str, port: int, log_path: Path) -> Iterator[str]:
    """The image's own entrypoint under `buildah run` (chroot isolation shares the host's network)."""
    container = run(["buildah", "from", image]).stdout.strip()
    try:
        with log_path.open("wb") as log:
            runner = subprocess.Popen(
                [
                    "buildah",
                    "run",
                    "--env",
                    f"PORT={port}",
                    container,
                    "--",
                    "/home/bentoml/bento/env/docker/entrypoint.sh",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_http(f"http://127.0.0.1:{port}/readyz", runner, log_path, timeout=180)
                yield container
            finally:
                stop_inner_processes(runner)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def stop_inner_processes(runner: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server inside the container (not `buildah run`, which would leave it running); `buildah run`
    returns once it is gone."""
    servers = [p for p in psutil.Process(runner.pid).children(recursive=True) if "bentoml" in " ".join(p.cmdline())]
    for server in servers:
        server.send_signal(signal.SIGTERM)
    psutil.wait_procs(servers, timeout=30)
    try:
        runner.wait(timeout=30)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.wait()
