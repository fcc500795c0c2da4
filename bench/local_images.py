"""Daemonless images on this machine, for the image benchmark and the image tests: a private buildah store, an
offline Debian base image, and an image run with its own entrypoint.

Nothing here ships (the Bento excludes `energy_pipeline/benchmarks/`): the host's CA bundle goes into the
*offline* base image only, so pip/uv inside the build trust the machine's TLS proxy; the real serving image is
built on `python:3.11-slim` without it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from energy_pipeline.serving.image import BUILDAH_ENV

OFFLINE_BASE_IMAGE = "localhost/energy-pipeline-test-base:bookworm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ENTRYPOINT = "/home/bentoml/bento/env/docker/entrypoint.sh"
_APT_CLEAN = "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"
DOCKER_CLEAN = (  # Debian's official images' /etc/apt/apt.conf.d/docker-clean
    f'DPkg::Post-Invoke {{ "{_APT_CLEAN}"; }};\nAPT::Update::Post-Invoke {{ "{_APT_CLEAN}"; }};\n'
    'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
)


def buildah_env(storage: Path) -> dict[str, str]:
    """A private image store, so neither the tests nor the benchmark see or touch the machine's images."""
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


def apt_mirror() -> str:
    """The Debian mirror the machine's own apt sources name (deb822 or one-line format)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text() if source.is_file() else ""
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, flags=re.MULTILINE):
            if "security" not in match[1]:
                return match[1]
    return "http://deb.debian.org/debian"


def build_offline_base_image(folder: Path) -> str:
    """Debian bookworm minbase with python3 and pip, from the apt mirror: the stand-in for python:slim where
    Docker Hub is out of reach."""
    rootfs = folder / "rootfs"
    run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip", "bookworm", str(rootfs), apt_mirror()])
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/locale"):
        shutil.rmtree(rootfs / leftover, ignore_errors=True)
    for cache in (rootfs / "var/cache/apt").glob("*.bin"):
        cache.unlink()
    # As Debian's official images (and so python:slim) do: apt keeps no package caches, or the Bento's own
    # `apt-get update` leaves 75 MB of them in the image.
    (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(DOCKER_CLEAN)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)  # BentoML's `pip install uv`
    shutil.copy(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    tarball = folder / "rootfs.tar"
    run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
    shutil.rmtree(rootfs)
    container = run(["buildah", "from", "scratch"]).stdout.strip()
    try:
        run(["buildah", "add", container, str(tarball), "/"])
        cert = str(HOST_CA_BUNDLE)
        run(["buildah", "config", "--env", f"SSL_CERT_FILE={cert}", "--env", f"PIP_CERT={cert}", container])
        run(["buildah", "commit", "--quiet", container, OFFLINE_BASE_IMAGE])
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    tarball.unlink()
    return OFFLINE_BASE_IMAGE


def build_dockerfile(context: Path, image: str, build_args: dict[str, str]) -> None:
    """`buildah build` of the Dockerfile in `context`: no daemon, the builder the serving image uses."""
    args = [f"--build-arg={key}={value}" for key, value in build_args.items()]
    run(["buildah", "build", "--quiet", *args, "-t", image, str(context)])


@contextmanager
def running_command(image: str, command: list[str], log_path: Path) -> Iterator[str]:
    """`command` run in a container of `image` (chroot isolation: the host's network); yields the container."""
    container = run(["buildah", "from", image]).stdout.strip()
    try:
        with log_path.open("wb") as log:
            runner = subprocess.Popen(
                ["buildah", "run", container, "--", *command], stdout=log, stderr=subprocess.STDOUT
            )
            try:
                yield container
            finally:
                for child in psutil.Process(runner.pid).children(recursive=True):
                    with suppress(psutil.NoSuchProcess):
                        child.terminate()
                try:
                    runner.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    runner.kill()
                    runner.wait()
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120, expect: int = 200
) -> None:
    """Until `url` answers `expect`; fails with the server's log when it exits first or never answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == expect:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class RunningImage:
    container: str
    create_seconds: float  # `buildah from`: a full copy of the image's files with the vfs driver
    ready_seconds: float  # the entrypoint started -> /readyz answers 200: the cold start of the server itself


@contextmanager
def running_image(image: str, port: int, log_path: Path, timeout: float = 180) -> Iterator[RunningImage]:
    """The image's own entrypoint under `buildah run` (chroot isolation shares the host's network)."""
    started = time.perf_counter()
    container = run(["buildah", "from", image]).stdout.strip()
    created = time.perf_counter()
    try:
        with log_path.open("wb") as log:
            runner = subprocess.Popen(
                ["buildah", "run", "--env", f"PORT={port}", container, "--", ENTRYPOINT],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_http(f"http://127.0.0.1:{port}/readyz", runner, log_path, timeout=timeout)
                ready = time.perf_counter()
                yield RunningImage(container, round(created - started, 2), round(ready - created, 2))
            finally:
                stop_inner_processes(runner)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def stop_inner_processes(runner: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server inside the container (not `buildah run`, which would leave it running); `buildah run`
    returns once it is gone."""
    if runner.poll() is not None:  # it already ended (a server that failed to start): nothing to stop
        return
    servers = [p for p in psutil.Process(runner.pid).children(recursive=True) if "bentoml" in _command_line(p)]
    for server in servers:
        # The supervisor's own shutdown may end its workers before their turn comes: that is the aim, not an error.
        with suppress(psutil.NoSuchProcess):
            server.send_signal(signal.SIGTERM)
    psutil.wait_procs(servers, timeout=30)
    try:
        runner.wait(timeout=30)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.wait()


def _command_line(process: psutil.Process) -> str:
    """'' for a process that ended (or became a zombie) between listing and reading."""
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:  # ZombieProcess is one too
        return ""
