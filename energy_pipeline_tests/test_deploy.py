"""The deployment files parse, agree with the service, and hold no credentials."""

from __future__ import annotations

import json
import re

from energy_pipeline.orchestration.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")
SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")


def credentials_in(text: str) -> list[str]:
    """AWS access key ids, and 40-character secrets (digits, upper and lower case mixed, as AWS issues them)."""
    secrets = [
        m for m in SECRET_KEY.findall(text) if re.search(r"\d", m) and re.search(r"[a-z]", m) and re.search(r"[A-Z]", m)
    ]
    return [m.group(0) for m in ACCESS_KEY_ID.finditer(text)] + secrets


def _load(name: str) -> dict:
    return json.loads((DEPLOY / name).read_text())


def test_task_definition_serves_the_bento_as_non_root_with_a_readyz_health_check() -> None:
    task = _load("ecs-task-definition.json")
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    (container,) = task["containerDefinitions"]
    assert container["portMappings"][0]["containerPort"] == 3000
    assert container["user"] not in ("root", "0")
    assert "/readyz" in " ".join(container["healthCheck"]["command"])
    assert int(task["cpu"]) >= 256 and int(task["memory"]) >= 512
    assert container["image"] == "${ECR_IMAGE_URI}"


def test_service_and_autoscaling_point_at_the_same_service() -> None:
    service = _load("ecs-service.json")
    scaling = _load("ecs-autoscaling.json")
    task = _load("ecs-task-definition.json")
    assert service["taskDefinition"] == task["family"]
    assert service["loadBalancers"][0]["containerName"] == task["containerDefinitions"][0]["name"]
    assert service["desiredCount"] >= scaling["scalableTarget"]["MinCapacity"] >= 1
    assert scaling["scalableTarget"]["MaxCapacity"] > scaling["scalableTarget"]["MinCapacity"]
    assert scaling["scalingPolicy"]["ResourceId"].endswith(service["serviceName"])


def test_no_credentials_in_the_repository_files() -> None:
    files = [
        *DEPLOY.rglob("*"),
        PROJECT_ROOT / "Dockerfile",
        PROJECT_ROOT / "dagster.yaml",
        *(PROJECT_ROOT / "energy_pipeline").rglob("*.py"),
    ]
    for path in files:
        if path.is_file():
            assert credentials_in(path.read_text()) == [], path


def test_the_scanner_finds_real_looking_keys() -> None:
    text = "key=AKIAIOSFODNN7EXAMPLE secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert credentials_in(text) == ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
