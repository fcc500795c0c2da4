"""The code-location image (root `Dockerfile`) built the daemonless way the serving image is (buildah, on the
offline Debian base when Docker Hub is out of reach) and started: its gRPC server answers Dagster's health check,
it runs as a non-root user and holds no credentials.

Cost: the build installs uv.lock's full training stack (several minutes on 2 cores, mostly downloads).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import local_images as images
from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline_tests.support import image_infra as infra
from energy_pipeline_tests.support.credentials import files_with_credentials
from energy_pipeline_tests.support.locked_versions import locked_here
from energy_pipeline_tests.support.services import free_port, venv_tool

pytestmark = [pytest.mark.image, pytest.mark.e2e]

IMAGE = "energy-pipeline-code:test"


@pytest.fixture(scope="module")
def code_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("code-image")
    with infra.image_tools_environment(images.buildah_env(root / "storage")):
        base = images.build_offline_base_image(root / "base")
        images.build_dockerfile(PROJECT_ROOT, IMAGE, {"BASE_IMAGE": base})
        yield IMAGE


def test_the_code_location_image_answers_dagsters_grpc_health_check(code_image: str, tmp_path: Path) -> None:
    port = free_port()
    command = ["dagster", "api", "grpc", "-h", "127.0.0.1", "-p", str(port), "-m", "energy_pipeline"]
    with images.running_command(code_image, command, tmp_path / "grpc.log"):
        for _ in range(90):  # the server imports the whole code location first
            checked = subprocess.run(
                [venv_tool("dagster"), "api", "grpc-health-check", "-p", str(port)], capture_output=True, text=True
            )
            if checked.returncode == 0:
                break
            time.sleep(2)
        assert checked.returncode == 0, (checked.stdout, checked.stderr, (tmp_path / "grpc.log").read_text()[-3000:])


def test_the_code_location_image_runs_as_non_root_and_holds_no_credentials(code_image: str) -> None:
    user = images.run(["buildah", "inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", code_image])
    assert user.stdout.strip() == "pipeline"
    container = images.run(["buildah", "from", code_image]).stdout.strip()
    try:
        assert images.run(["buildah", "run", container, "--", "id", "-u"]).stdout.strip() == "10001"
        mounted = Path(images.run(["buildah", "mount", container]).stdout.strip())
        assert (mounted / "opt/venv/bin/dagster").is_file()
        assert files_with_credentials(mounted, ("/home", "/root", "/etc", "/tmp", "/opt/dagster")) == []
    finally:
        subprocess.run(["buildah", "umount", container], capture_output=True)
        subprocess.run(["buildah", "rm", container], capture_output=True)


def test_the_code_location_image_installs_the_locked_versions(code_image: str) -> None:
    """The image's packages are uv.lock's, as in `make install` and the Bento."""
    locked = locked_here()  # the image's Python is 3.11, as here
    container = images.run(["buildah", "from", code_image]).stdout.strip()
    try:
        probe = "from importlib.metadata import version as v; print(v('dagster'), v('scikit-learn'), v('mlflow'))"
        shown = images.run(["buildah", "run", container, "--", "python3", "-c", probe]).stdout.split()
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    assert shown == [locked["dagster"], locked["scikit-learn"], locked["mlflow"]]
