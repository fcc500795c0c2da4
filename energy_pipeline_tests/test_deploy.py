"""The deployment files parse and agree with the service (credentials: test_secrets)."""

from __future__ import annotations

import json
import re

from energy_pipeline.orchestration.settings import PROJECT_ROOT
from energy_pipeline.serving.service import EnergyService

DEPLOY = PROJECT_ROOT / "deploy"


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


def test_bentoml_options_name_the_service_bentoml_knows() -> None:
    """BentoML ignores `services.<name>.…` options for a name it does not serve, silently: an ECS task once set
    `services.EnergyService.traffic.timeout` (the class, not the service's name) to no effect."""
    texts = [path.read_text() for path in DEPLOY.rglob("*") if path.is_file()]
    texts += [
        *(path.read_text() for path in (PROJECT_ROOT / "docs").glob("*.md")),
        (PROJECT_ROOT / "README.md").read_text(),
        (PROJECT_ROOT / "energy_pipeline/serving/service.py").read_text(),
        (PROJECT_ROOT / "energy_pipeline/serving/tracing.py").read_text(),
        (PROJECT_ROOT / "bench/README.md").read_text(),
    ]
    options = r"\bservices\.(\w+)\.(?:traffic|logging|workers|tracing)"
    named = {name for text in texts for name in re.findall(options, text)}
    assert named == {EnergyService.name}
