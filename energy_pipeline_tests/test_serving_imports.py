"""The serving image installs only what serving needs: its modules must import without the training stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from energy_pipeline.serving.bento_build import BENTOFILE, BOOSTING_PACKAGES, SERVING_PACKAGES, boosting_packages
from energy_pipeline.serving.mlflow_dir import MlflowModelDir

# Importable here but absent from the serving image (no MLflow, no training stack).
NOT_IN_THE_IMAGE = ("pandera", "dagster", "xgboost", "mlflow", "sqlalchemy", "flask", "matplotlib", "pyarrow", "boto3")

# `None` in sys.modules is how Python spells "absent": imports fail, importlib.util.find_spec answers None.
PROBE = f"""
import sys
sys.modules.update(dict.fromkeys({NOT_IN_THE_IMAGE!r}))
import energy_pipeline.serving.service
"""


def test_service_imports_with_only_the_serving_packages() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_scorer_imports_without_the_boosting_libraries() -> None:
    """A Bento carries xgboost/lightgbm only for models that need them (a Ridge champion needs neither)."""
    absent = (*NOT_IN_THE_IMAGE, "lightgbm")
    probe = f"import sys\nsys.modules.update(dict.fromkeys({absent!r}))\nimport energy_pipeline.serving.predictor"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_service_waits_passively_for_openmp_threads_unless_told_otherwise() -> None:
    """LightGBM's OpenMP threads must not spin on the core the forest's trees are walked on next."""
    probe = "import os, energy_pipeline.serving.service\nprint(os.environ['OMP_WAIT_POLICY'])"
    for given, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if given is not None:
            environment["OMP_WAIT_POLICY"] = given
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == expected


def test_the_probe_does_fail_on_a_training_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("energy_pipeline.serving.service", "energy_pipeline.data.validation")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "pandera" in done.stderr


def test_serving_packages_leave_out_mlflow() -> None:
    assert not [name for name in SERVING_PACKAGES if name.startswith("mlflow")]


def test_bentofile_names_every_serving_package_and_skips_lock() -> None:
    options = yaml.safe_load(BENTOFILE.read_text())
    assert set(SERVING_PACKAGES) | set(BOOSTING_PACKAGES) == set(options["python"]["packages"])
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


def _logged(trusted: list[str], serialization: str = "skops") -> MlflowModelDir:
    flavor = {"serialization_format": serialization, "pickled_model": "model.skops", "skops_trusted_types": trusted}
    return MlflowModelDir(path=Path("unused"), spec={"flavors": {"sklearn": flavor}})


def test_a_bento_carries_a_boosting_library_only_for_a_model_that_needs_one() -> None:
    common = ["energy_pipeline.models.features.BuildingFeatures", "numpy.dtype"]
    assert boosting_packages(_logged(common)) == set()
    assert boosting_packages(_logged([*common, "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMRegressor"])) == {
        "lightgbm"
    }
    assert boosting_packages(_logged([*common, "xgboost.core.Booster"])) == {"xgboost"}
    assert boosting_packages(_logged(["lightgbm_like.Model"])) == set()  # a module name, not a prefix
    forest = [*common, "sklearn.tree._tree.Tree"]  # what skops names of a fitted RandomForest or ExtraTrees
    assert boosting_packages(_logged(forest)) == {"lightgbm"}  # the scorer walks forests with LightGBM
    assert boosting_packages(_logged([], serialization="cloudpickle")) == set(BOOSTING_PACKAGES)
