"""An MLflow sklearn model directory, read the way MLflow reads it but without importing MLflow.

A serving worker needs three things from it: the MLmodel (run id, metadata), the fitted pipeline and its input
example. Through `mlflow.sklearn.load_model` they cost ~2.5 s of every worker's start (importing MLflow, parsing
the MLmodel YAML four times in pure Python), which is most of the time to `/readyz`. The skops file is loaded
exactly as MLflow loads it (`skops.io.load` with the model's own trusted types); other serialization formats
(pickle, cloudpickle) still go through MLflow. `test_mlflow_dir` checks both readers agree on a registered model.
A worker reads the pipeline from here only when its Bento model does not carry it (`bento_build.import_champion`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

MLFLOW_MODEL_FOLDER = "mlflow_model"  # where `bentoml.mlflow.import_model` puts the MLflow model in a Bento model
MLMODEL_FILE = "MLmodel"
SKOPS_FORMAT = "skops"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the 20 kB MLmodel ~40x faster


@dataclass(frozen=True)
class MlflowModelDir:
    path: Path
    spec: dict[str, Any]  # the parsed MLmodel

    @classmethod
    def read(cls, path: Path) -> MlflowModelDir:
        spec = yaml.load((path / MLMODEL_FILE).read_text(), Loader=_YAML_LOADER)
        if not isinstance(spec, dict) or "sklearn" not in spec.get("flavors", {}):
            raise ValueError(f"{path / MLMODEL_FILE} is not an MLflow model with the sklearn flavor")
        return cls(path=path, spec=spec)

    @property
    def run_id(self) -> str:
        return str(self.spec.get("run_id") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.spec.get("metadata") or {})

    def load_sklearn(self) -> Any:
        flavor = self.spec["flavors"]["sklearn"]
        if flavor.get("serialization_format") != SKOPS_FORMAT:
            try:
                import mlflow.sklearn  # pickle or cloudpickle: MLflow's own loader and its safety switch
            except ImportError:  # the serving image carries no MLflow
                raise RuntimeError(
                    f"{self.path} holds a {flavor.get('serialization_format')} model, which only MLflow reads: "
                    "serve a Bento built by the `bento` asset, which stores the fitted pipeline with the model"
                ) from None
            return mlflow.sklearn.load_model(str(self.path))
        import skops.io

        return skops.io.load(self.path / flavor["pickled_model"], trusted=flavor.get("skops_trusted_types") or [])

    def input_example(self) -> pd.DataFrame | None:
        """The logged example as a DataFrame, or None when there is none or it is not a DataFrame."""
        info = self.spec.get("saved_input_example_info") or {}
        if info.get("type") != "dataframe" or info.get("pandas_orient", "split") != "split":
            return None
        return frame_from_split_json((self.path / info["artifact_path"]).read_text())


def frame_from_split_json(text: str) -> pd.DataFrame:
    """A DataFrame from pandas' `split` JSON, values as written (no dtype guessing, as MLflow reads examples)."""
    parsed = json.loads(text)
    return pd.DataFrame(parsed["data"], columns=parsed["columns"])
