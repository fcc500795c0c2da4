"""Our ECR resource against moto's server: a real HTTP endpoint speaking the ECR API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from energy_pipeline.orchestration.serving_resources import EcrRegistry
from energy_pipeline_tests.support.services import AWS_TEST_CREDENTIALS, moto_server


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def ecr(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> EcrRegistry:
    for name, value in AWS_TEST_CREDENTIALS.items():
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
