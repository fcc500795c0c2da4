"""The serving workers read MLflow model directories without MLflow: what they read must be what MLflow reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model
from sklearn.linear_model import Ridge

from energy_pipeline.serving.mlflow_dir import MlflowModelDir
from energy_pipeline.serving.service import MODEL_ALIASES


@pytest.mark.parametrize("registered", sorted(MODEL_ALIASES.values()))
def test_a_registered_champion_reads_as_mlflow_reads_it(
    served: dict[str, Any], registered: str, tmp_path: Path
) -> None:
    mlflow.set_tracking_uri(served["tracking_uri"])
    path = Path(mlflow.artifacts.download_artifacts(f"models:/{registered}@champion", dst_path=str(tmp_path)))
    ours, theirs = MlflowModelDir.read(path), Model.load(str(path))
    assert ours.spec["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert (ours.run_id, ours.metadata) == (theirs.run_id, theirs.metadata)
    assert ours.metadata["interval_log_halfwidth"] > 0
    example = ours.input_example()
    pd.testing.assert_frame_equal(example, theirs.load_input_example(str(path)))
    assert example is not None and len(example) > 0
    np.testing.assert_array_equal(
        ours.load_sklearn().predict(example), mlflow.sklearn.load_model(str(path)).predict(example)
    )


def test_a_pickled_model_goes_through_mlflow(tmp_path: Path) -> None:
    X = np.arange(12.0).reshape(6, 2)
    model = Ridge().fit(X, X.sum(axis=1))
    mlflow.sklearn.save_model(model, str(tmp_path / "model"), serialization_format="cloudpickle")
    loaded = MlflowModelDir.read(tmp_path / "model")
    assert loaded.input_example() is None
    np.testing.assert_array_equal(loaded.load_sklearn().predict(X), model.predict(X))


def test_a_directory_without_the_sklearn_flavor_is_refused(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors:\n  python_function: {loader_module: custom}\n")
    with pytest.raises(ValueError, match="sklearn flavor"):
        MlflowModelDir.read(tmp_path)
