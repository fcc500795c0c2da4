"""The build-and-push path for real, without AWS and without a Docker daemon.

The pipeline's own `serving_image` asset containerizes the Bento with buildah on an offline Debian base image,
and its `ecr_image` asset pushes it with the ECR resource: the ECR API is moto's server, the registry is Docker's
registry behind htpasswd with the credentials decoded from moto's authorization token. The image is then run
with its own entrypoint and called over HTTP. `make test` installs the Debian tools (`make image-tools`); the
tests skip, saying so, only where those packages cannot be installed.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bentoml
import boto3
import dagster as dg
import httpx
import pytest

from bench import local_images as images
from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.orchestration.serving_resources import BentoPackaging, EcrRegistry, ImageBuilder
from energy_pipeline.serving.image import ImageBuildError, build_image
from energy_pipeline.serving.schemas import EXAMPLE_BUILDING
from energy_pipeline_tests.conftest import copy_exports
from energy_pipeline_tests.support import image_infra as infra
from energy_pipeline_tests.support.credentials import files_with_credentials
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance
from energy_pipeline_tests.support.services import AWS_TEST_CREDENTIALS, free_port, moto_server

pytestmark = [pytest.mark.image, pytest.mark.e2e]

REGION = "eu-west-1"
REPOSITORY = "energy-pipeline-serving"
JOBS = ("ingest_job", "training_job", "serving_job")


@pytest.fixture(scope="module")
def image_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """buildah's store, registry logins and AWS credentials all private to this module."""
    root = tmp_path_factory.mktemp("image")
    env = {
        **images.buildah_env(root / "storage"),
        "REGISTRY_AUTH_FILE": str(root / "auth.json"),
        **AWS_TEST_CREDENTIALS,
    }
    (root / "auth.json").write_text("{}")
    with infra.image_tools_environment(env):  # module scope: restored when the module's tests are done
        yield root


@pytest.fixture(scope="module")
def pushed(image_env: Path) -> Iterator[dict[str, Any]]:
    root = image_env
    base_image = images.build_offline_base_image(root / "base")
    with moto_server(root) as ecr_endpoint:
        token = boto3.client("ecr", region_name=REGION, endpoint_url=ecr_endpoint).get_authorization_token()
        username, password = base64.b64decode(token["authorizationData"][0]["authorizationToken"]).decode().split(":")
        with (
            infra.htpasswd_registry(root / "registry", username, password) as registry,
            infra.ecr_listing_bridge(registry, (username, password), ecr_endpoint, REGION, REPOSITORY) as listed,
            throwaway_instance(root) as instance,
        ):
            defs = definitions_for(
                copy_exports(root / "landing"),
                root / "artifacts",
                builder=ImageBuilder(backend="buildah"),
                packaging=BentoPackaging(base_image=base_image),
                ecr=EcrRegistry(
                    region=REGION,
                    repository=REPOSITORY,
                    endpoint_url=ecr_endpoint,
                    registry_host=registry,
                    tls_verify=False,
                ),
            )
            reports = run_pipeline(instance, defs, jobs=JOBS)
            assert all(r.success for r in reports), format_summary(reports)
            materialized = reports[-1].materialized
            yield {
                "root": root,
                "image": materialized["serving_image"],
                "ecr": materialized["ecr_image"],
                "bento": materialized["bento"]["bento"],
                "listed": dict(listed),
                "registry": registry,
                "credentials": (username, password),
                "ecr_client": boto3.client("ecr", region_name=REGION, endpoint_url=ecr_endpoint),
                "summary": format_summary(reports),
                "instance": instance,
            }


def test_serving_image_is_built_by_buildah_and_reports_its_size(pushed: dict[str, Any]) -> None:
    image = pushed["image"]
    assert image["backend"] == "buildah"
    assert image["image"] == f"energy-pipeline-serving:{pushed['bento'].split(':')[1]}"
    assert image["base_image"] == images.OFFLINE_BASE_IMAGE
    assert 100 < image["size_mb"] < 2000
    listed = images.run(["buildah", "images", "--format", "{{.Name}}:{{.Tag}}"]).stdout
    assert f"localhost/{image['image']}" in listed


def test_image_runs_as_non_root_without_compilers(pushed: dict[str, Any]) -> None:
    name = pushed["image"]["image"]
    user = images.run(["buildah", "inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", name]).stdout
    assert user.strip() == "bentoml"
    container = images.run(["buildah", "from", name]).stdout.strip()
    try:
        uid = images.run(["buildah", "run", container, "--", "id", "-u"]).stdout.strip()
        assert uid != "0"
        # BentoML's default image installs build-essential and git; serving needs neither
        found = subprocess.run(
            ["buildah", "run", container, "--", "sh", "-c", "command -v gcc || command -v cc || command -v git"],
            capture_output=True,
            text=True,
        )
        assert found.returncode != 0, found.stdout
        # LightGBM's wheel needs the OpenMP runtime from the system, whichever family won this (tiny) training
        openmp = images.run(["buildah", "run", container, "--", "sh", "-c", "ldconfig -p | grep libgomp.so.1"])
        assert "libgomp.so.1" in openmp.stdout
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)


def test_image_holds_no_credentials(pushed: dict[str, Any]) -> None:
    container = images.run(["buildah", "from", pushed["image"]["image"]]).stdout.strip()
    try:
        mounted = Path(images.run(["buildah", "mount", container]).stdout.strip())
        assert (mounted / "home/bentoml/bento/bento.yaml").is_file()
        # no AWS key pattern and not the registry password (the push login) anywhere the image holds our files
        subtrees = ("/home", "/root", "/app", "/etc", "/tmp", "/usr/local")
        assert files_with_credentials(mounted, subtrees, (pushed["credentials"][1],)) == []
    finally:
        subprocess.run(["buildah", "umount", container], capture_output=True)
        subprocess.run(["buildah", "rm", container], capture_output=True)


def test_image_serves_predictions_with_its_own_entrypoint(pushed: dict[str, Any]) -> None:
    port = free_port()
    with images.running_image(pushed["image"]["image"], port, pushed["root"] / "container.log"):
        base = f"http://127.0.0.1:{port}"
        answer = httpx.post(f"{base}/predict", json={"building": EXAMPLE_BUILDING}, timeout=60)
        assert answer.status_code == 200, answer.text
        prediction = answer.json()
        energy = prediction["site_energy_use_kbtu"]
        assert energy["lower_80"] <= energy["prediction"] <= energy["upper_80"] and energy["prediction"] > 0
        assert set(prediction["model_versions"].values()) == {"1"}
        bad = httpx.post(f"{base}/predict", json={"building": {**EXAMPLE_BUILDING, "year_built": 1700}}, timeout=30)
        assert bad.status_code == 400 and "year_built" in bad.text


def test_ecr_image_is_pushed_with_the_ecr_login_and_confirmed_by_digest(pushed: dict[str, Any]) -> None:
    ecr, tag = pushed["ecr"], pushed["bento"].split(":")[1]
    registry, (username, password) = pushed["registry"], pushed["credentials"]
    assert ecr["uri"] == f"{registry}/{REPOSITORY}:{tag}"
    assert ecr["repository"].endswith(f".dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}")
    assert ecr["tags"] == [tag]
    # the digest the asset recorded is the one the registry serves, read independently with skopeo
    digest = images.run(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            "--creds",
            f"{username}:{password}",
            "--format",
            "{{.Digest}}",
            f"docker://{registry}/{REPOSITORY}:{tag}",
        ]
    ).stdout.strip()
    assert ecr["digest"] == digest == pushed["listed"][tag]
    (details,) = pushed["ecr_client"].describe_images(repositoryName=REPOSITORY)["imageDetails"]
    assert details["imageDigest"] == digest
    # the registry really refuses anyone without ECR's token
    assert httpx.get(f"http://{registry}/v2/{REPOSITORY}/tags/list", timeout=5).status_code == 401


def test_asset_history_shows_the_image_and_its_push(pushed: dict[str, Any]) -> None:
    instance: dg.DagsterInstance = pushed["instance"]
    for asset in ("serving_image", "ecr_image"):
        assert instance.get_latest_materialization_event(dg.AssetKey(asset)) is not None
    assert "serving_image" in pushed["summary"] and "ecr_image" in pushed["summary"]


def test_bentos_of_another_store_or_base_image_are_never_reused(pushed: dict[str, Any], served: dict[str, Any]) -> None:
    """Both graphs registered version 1 of each model into their own MLflow store, with other base images: the
    shared Bento store must hold two Bentos with different models, not one reused for both."""
    assert pushed["bento"].split(":")[1].startswith("e1-g1-") and served["bento"].split(":")[1].startswith("e1-g1-")
    assert pushed["bento"] != served["bento"]
    ours, theirs = (
        {str(model.tag) for model in bentoml.get(tag).info.all_models} for tag in (pushed["bento"], served["bento"])
    )
    assert len(ours) == len(theirs) == 2 and not ours & theirs


def test_a_failed_build_is_an_error_that_names_its_cause(image_env: Path, served: dict[str, Any]) -> None:
    """BentoML logs a failed build and returns normally; the build must still fail, with the builder's reason."""
    with pytest.raises(ImageBuildError, match=r"(?s)did not produce energy-pipeline-serving:doomed.*absent-base"):
        build_image(served["bento"], "energy-pipeline-serving:doomed", "buildah")
