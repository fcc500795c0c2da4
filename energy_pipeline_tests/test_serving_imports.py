"""The serving image installs only what serving needs: its modules must import without the training stack."""

from __future__ import annotations

import subprocess
import sys

import yaml

from energy_pipeline.serving.bento_build import BENTOFILE, SERVING_PACKAGES

# Importable here but absent from the serving image (mlflow-skinny, no training stack).
NOT_IN_THE_IMAGE = ("pandera", "dagster", "xgboost", "sqlalchemy", "flask", "matplotlib", "pyarrow", "boto3")

# `None` in sys.modules is how Python spells "absent": imports fail, importlib.util.find_spec answers None.
PROBE = f"""
import sys
sys.modules.update(dict.fromkeys({NOT_IN_THE_IMAGE!r}))
import energy_pipeline.serving.service
"""


def test_service_imports_with_only_the_serving_packages() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_probe_does_fail_on_a_training_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("energy_pipeline.serving.service", "energy_pipeline.domain.validation")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "pandera" in done.stderr


def test_serving_packages_leave_out_the_mlflow_server() -> None:
    assert "mlflow-skinny" in SERVING_PACKAGES and "mlflow" not in SERVING_PACKAGES


def test_bentofile_names_every_serving_package_and_skips_lock() -> None:
    options = yaml.safe_load(BENTOFILE.read_text())
    assert set(SERVING_PACKAGES) | {"xgboost", "lightgbm"} == set(options["python"]["packages"])
    assert options["python"]["lock_packages"] is False
    assert options["service"] == "energy_pipeline.serving.service:EnergyService"


def test_the_service_module_leaves_the_model_stack_to_the_workers() -> None:
    """`bentoml serve` imports the service module in its supervisor too: the model stack (sklearn, skops, pandas,
    MLflow) must load in the workers only, or every start waits for it twice."""
    probe = (
        "import sys, energy_pipeline.serving.service\n"
        "print(sorted(m for m in ('sklearn', 'skops', 'pandas', 'mlflow', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
