"""The serving workers read MLflow model directories without MLflow: what they read must be what MLflow reads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bentoml
import httpx
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model
from sklearn.linear_model import Ridge

from energy_pipeline.core.columns import TARGET_SPECS, registered_model_name
from energy_pipeline.models.features import MODEL_INPUTS
from energy_pipeline.models.tracking import CHECK_ROW_COUNT, CHECK_ROWS_ARTIFACT
from energy_pipeline.serving.bento_build import BOOSTING_PACKAGES
from energy_pipeline.serving.fast_scoring import forest_as_lightgbm, frame_columns
from energy_pipeline.serving.mlflow_dir import MLFLOW_MODEL_FOLDER, MlflowModelDir, frame_from_split_json
from energy_pipeline.serving.predictor import ServedModel
from energy_pipeline.serving.service import CHECK_ROWS, FOREST_TEXTS, SERVED_PIPELINE, SERVED_TARGETS

pytestmark = pytest.mark.integration

# the served fixture trains with the default prefix
REGISTERED = sorted(registered_model_name(target.key) for target in TARGET_SPECS)


@pytest.mark.parametrize("registered", REGISTERED)
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


@pytest.mark.parametrize("registered", REGISTERED)
def test_a_bento_model_carries_the_registered_pipeline_and_its_forest_texts(
    served: dict[str, Any], registered: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker loads the pipeline the Bento carries (not the skops file) and reads its forests' texts: both must
    be the registered champion's, and the worker must score exactly as when it reads the skops file itself."""
    mlflow.set_tracking_uri(served["tracking_uri"])
    info = next(m for m in bentoml.get(served["bento"]).info.all_models if m.tag.name == registered)
    stored = bentoml.models.get(info.tag)
    version = stored.info.labels["registered_version"]
    path = Path(mlflow.artifacts.download_artifacts(f"models:/{registered}/{version}", dst_path=str(tmp_path)))
    example = MlflowModelDir.read(path).input_example()
    carried, texts = stored.custom_objects[SERVED_PIPELINE], stored.custom_objects[FOREST_TEXTS]
    np.testing.assert_array_equal(carried.predict(example), mlflow.sklearn.load_model(str(path)).predict(example))
    forests = {name for name in _types_in(carried) if name.startswith("sklearn.ensemble._forest.")}
    assert bool(texts) == bool(forests)
    written = dict(texts)
    with monkeypatch.context() as patched:
        patched.setattr(forest_as_lightgbm, "forest_model_text", lambda forest: pytest.fail("a text was written"))
        from_bento = ServedModel.from_mlflow_dir(
            info.alias, Path(stored.path_of(MLFLOW_MODEL_FOLDER)), registered, version, carried, texts
        )
    assert texts == written
    from_skops = ServedModel.from_mlflow_dir(info.alias, Path(stored.path_of(MLFLOW_MODEL_FOLDER)), registered, version)
    assert from_bento.card == from_skops.card and from_bento.card.scoring.startswith("compiled")
    assert from_skops.card.scoring.endswith(f"agreed with the model on {len(example)} check rows")  # the example's
    rows = frame_columns(example)
    np.testing.assert_array_equal(from_bento.scorer.predict(rows), from_skops.scorer.predict(rows))


# A serving worker with no MLflow installed, as in the image: `None` in sys.modules makes every import of it fail.
WITHOUT_MLFLOW = """
import sys, json
sys.modules.update(dict.fromkeys(("mlflow", "mlflow.sklearn")))
from pathlib import Path
import bentoml
from energy_pipeline.serving.fast_scoring import frame_columns
from energy_pipeline.serving.mlflow_dir import MLFLOW_MODEL_FOLDER, MlflowModelDir, frame_from_split_json
from energy_pipeline.serving.predictor import ServedModel
from energy_pipeline.serving.service import CHECK_ROWS, FOREST_TEXTS, SERVED_PIPELINE
scores = {}
for info in bentoml.get(sys.argv[1]).info.all_models:
    stored = bentoml.models.get(info.tag)
    folder = Path(stored.path_of(MLFLOW_MODEL_FOLDER))
    rows = frame_columns(MlflowModelDir.read(folder).input_example())
    labels = stored.info.labels
    check_rows = frame_from_split_json(stored.custom_objects[CHECK_ROWS])
    carried = stored.custom_objects[SERVED_PIPELINE], stored.custom_objects[FOREST_TEXTS], check_rows
    for source, objects in (("bento", carried), ("skops", (None, None, None))):
        model = ServedModel.from_mlflow_dir(
            info.alias, folder, labels["registered_model"], labels["registered_version"], *objects
        )
        scores[f"{info.alias}/{source}"] = model.scorer.predict(rows).tolist()
print(json.dumps(scores))
"""


def test_the_bento_models_load_and_score_without_mlflow(served: dict[str, Any]) -> None:
    """The serving image carries no MLflow: a worker must load each champion, from the pipeline the Bento carries
    and from its skops file, and score with neither importing MLflow."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_MLFLOW, served["bento"]], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads(done.stdout)
    assert sorted(scores) == sorted(f"{alias}/{source}" for alias in SERVED_TARGETS for source in ("bento", "skops"))
    for alias in SERVED_TARGETS:
        assert scores[f"{alias}/bento"] == scores[f"{alias}/skops"] and len(scores[f"{alias}/bento"]) > 0


def test_a_pickled_model_without_mlflow_is_refused_with_its_remedy(tmp_path: Path) -> None:
    model = Ridge().fit(np.arange(12.0).reshape(6, 2), np.arange(6.0))
    mlflow.sklearn.save_model(model, str(tmp_path / "model"), serialization_format="cloudpickle")
    probe = (
        "import sys\nsys.modules.update(dict.fromkeys(('mlflow', 'mlflow.sklearn')))\n"
        "from pathlib import Path\nfrom energy_pipeline.serving.mlflow_dir import MlflowModelDir\n"
        f"MlflowModelDir.read(Path({str(tmp_path / 'model')!r})).load_sklearn()"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "cloudpickle model, which only MLflow reads" in done.stderr and "`bento` asset" in done.stderr


@pytest.mark.parametrize("registered", REGISTERED)
def test_a_bento_model_carries_real_rows_its_scorer_is_checked_on(
    served: dict[str, Any], registered: str, tmp_path: Path
) -> None:
    """The rows the run logged with its winner, carried by the Bento model: a worker checks its compiled scorer on
    them, not on the 3-row input example."""
    mlflow.set_tracking_uri(served["tracking_uri"])
    info = next(m for m in bentoml.get(served["bento"]).info.all_models if m.tag.name == registered)
    stored = bentoml.models.get(info.tag)
    # text, not a pickled DataFrame: those carry pyarrow-backed strings, and the serving image has no pyarrow
    assert isinstance(stored.custom_objects[CHECK_ROWS], str)
    rows = frame_from_split_json(stored.custom_objects[CHECK_ROWS])
    logged = mlflow.artifacts.download_artifacts(
        run_id=stored.info.labels["run_id"], artifact_path=CHECK_ROWS_ARTIFACT, dst_path=str(tmp_path)
    )
    pd.testing.assert_frame_equal(rows, frame_from_split_json(Path(logged).read_text()))
    assert len(rows) == CHECK_ROW_COUNT and list(rows.columns) == list(MODEL_INPUTS)
    assert not rows.duplicated().any() and rows["primary_property_type"].nunique() >= 10
    served_model = ServedModel.from_mlflow_dir(
        info.alias,
        Path(stored.path_of(MLFLOW_MODEL_FOLDER)),
        registered,
        stored.info.labels["registered_version"],
        stored.custom_objects[SERVED_PIPELINE],
        stored.custom_objects[FOREST_TEXTS],
        rows,
    )
    assert served_model.card.scoring.endswith(f"agreed with the model on {CHECK_ROW_COUNT} check rows")
    model_info = httpx.get(f"{served['base']}/v1/model_info", timeout=10).json()
    assert f"agreed with the model on {CHECK_ROW_COUNT} check rows" in json.dumps(model_info)


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


def _types_in(obj: object, seen: set[int] | None = None) -> set[str]:
    """`module.Class` of every object reachable from a fitted estimator (its attributes, lists, dicts)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, str | bytes | int | float | type | np.ndarray) or obj is None:
        return set()
    seen.add(id(obj))
    found = {f"{type(obj).__module__}.{type(obj).__qualname__}"}
    if isinstance(obj, dict):
        children: Iterable[object] = obj.values()
    elif isinstance(obj, list | tuple):
        children = obj
    else:
        children = vars(obj).values() if hasattr(obj, "__dict__") else ()
    for child in children:
        found |= _types_in(child, seen)
    return found


def test_the_bento_carries_exactly_the_boosting_libraries_its_models_need(served: dict[str, Any]) -> None:
    """Those whose estimators a champion holds, and LightGBM for a forest, which the scorer walks with LightGBM."""
    bento = bentoml.get(served["bento"])
    requirements = (Path(bento.path) / "env" / "python" / "requirements.txt").read_text()
    carried = {name for name in BOOSTING_PACKAGES if re.search(rf"^{name}==", requirements, re.MULTILINE)}
    held: set[str] = set()
    for model in bento.info.all_models:
        stored = bentoml.models.get(model.tag)
        held |= _types_in(MlflowModelDir.read(Path(stored.path_of(MLFLOW_MODEL_FOLDER))).load_sklearn())
    libraries = {name.split(".", 1)[0] for name in held}
    forests = {name for name in held if name.startswith("sklearn.ensemble._forest.")}
    assert carried == (libraries & set(BOOSTING_PACKAGES)) | ({"lightgbm"} if forests else set())
    assert "sklearn" in libraries and "energy_pipeline" in libraries  # the walk does reach into the pipelines
