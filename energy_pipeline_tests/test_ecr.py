"""Our ECR resource against moto's server: a real HTTP endpoint speaking the ECR API on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from energy_pipeline.orchestration.serving_resources import EcrRegistry


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def ecr(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> EcrRegistry:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    return EcrRegistry(region="eu-west-1", repository="energy-pipeline-serving", endpoint_url=moto_endpoint)


def test_without_a_region_no_registry_is_configured() -> None:
    assert not EcrRegistry().configured


def test_repository_is_created_once_with_scanning_and_immutable_tags(ecr: EcrRegistry) -> None:
    repository = ecr.repository_client()
    uri = repository.ensure()
    assert uri.endswith(".dkr.ecr.eu-west-1.amazonaws.com/energy-pipeline-serving")
    assert repository.ensure() == uri  # found, not created again
    (described,) = repository.client.describe_repositories(repositoryNames=["energy-pipeline-serving"])["repositories"]
    assert described["imageTagMutability"] == "IMMUTABLE"
    assert described["imageScanningConfiguration"]["scanOnPush"] is True


def test_login_decodes_the_authorization_token(ecr: EcrRegistry) -> None:
    login = ecr.repository_client().login()
    assert login.username == "AWS" and login.password
    assert login.endpoint.startswith("https://") and ".dkr.ecr.eu-west-1." in login.endpoint


def test_describe_confirms_a_pushed_tag_with_its_digest(ecr: EcrRegistry) -> None:
    repository = ecr.repository_client()
    repository.ensure()
    assert repository.describe("e1-g1") is None
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    }
    repository.client.put_image(
        repositoryName="energy-pipeline-serving", imageManifest=json.dumps(manifest), imageTag="e1-g1"
    )
    details = repository.describe("e1-g1")
    assert details is not None
    assert details["imageDigest"].startswith("sha256:") and details["imageTags"] == ["e1-g1"]
