"""Importing the MLflow champions into the Bento model store and building the Bento. Plain Python."""

from __future__ import annotations

import fnmatch
import hashlib
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import cast

import bentoml
import mlflow
import yaml
from bentoml.exceptions import NotFound
from mlflow.exceptions import MlflowException

from energy_pipeline.core.columns import GHG_EMISSIONS, SITE_ENERGY
from energy_pipeline.core.version import hash_files
from energy_pipeline.models.tracking import CHECK_ROWS_ARTIFACT
from energy_pipeline.serving.fast_scoring import ForestTexts, compile_model
from energy_pipeline.serving.mlflow_dir import (
    MLFLOW_MODEL_FOLDER,
    SKOPS_FORMAT,
    MlflowModelDir,
)
from energy_pipeline.serving.service import CHECK_ROWS, FOREST_TEXTS, SERVED_PIPELINE, SERVING_IMAGE, TARGET_LABEL

BENTOFILE = Path(__file__).with_name("bentofile.yaml")
# No MLflow: every stored model carries its fitted pipeline (`import_champion`), and the skops file it falls back
# to is read without MLflow (`mlflow_dir.py`). mlflow-skinny stays out of the image.
SERVING_PACKAGES = ("scikit-learn", "pandas", "numpy", "skops", "pydantic", "fastapi", "bentoml")
BOOSTING_PACKAGES = ("xgboost", "lightgbm")  # added per Bento, only for the models that need them
# skops trusts sklearn's estimators by default, so only their fitted trees name a forest among the trusted types
SKLEARN_TREE = "sklearn.tree._tree.Tree"


@dataclass(frozen=True)
class Champion:
    target: str  # the target's key: the model's alias in the Bento, whatever its registered name
    registered_model: str
    version: str
    winner: str
    run_id: str  # the MLflow run that logged it: version numbers alone repeat across tracking servers


def import_champion(champion: Champion) -> bentoml.Model:
    """Copy `models:/<name>/<version>` into the Bento store once; a second call returns the stored model. The tag
    carries the run id, so version 1 of another tracking server is never mistaken for this one.

    The fitted pipeline is also stored beside the MLflow directory, as BentoML custom objects (cloudpickle), with
    the LightGBM texts of its forests: the registered skops file is read and audited here, once, and each serving
    worker then loads the pipeline instead of importing and running skops (most of its start), and reads its
    forests' texts instead of writing them. A pickle runs code when it is loaded; this
    one is read only from the Bento it was built into, which the same build fills with the service's own code."""
    tag = bentoml.Tag(champion.registered_model, f"v{champion.version}-{champion.run_id[:12]}")
    try:
        return bentoml.models.get(tag)
    except NotFound:
        pass
    with tempfile.TemporaryDirectory() as folder:
        local = mlflow.artifacts.download_artifacts(
            f"models:/{champion.registered_model}/{champion.version}", dst_path=folder
        )
        logged = MlflowModelDir.read(Path(local))
        pipeline, forest_texts = logged.load_sklearn(), ForestTexts()
        compile_model(pipeline, forest_texts=forest_texts)  # fills forest_texts; each worker checks its own compile
        check_rows = _check_rows(champion.run_id, folder)
        return bentoml.mlflow.import_model(
            tag,
            local,
            labels={
                TARGET_LABEL: champion.target,
                "registered_model": champion.registered_model,
                "registered_version": champion.version,
                "winner": champion.winner,
                "run_id": champion.run_id,
            },
            custom_objects={SERVED_PIPELINE: pipeline, FOREST_TEXTS: forest_texts, CHECK_ROWS: check_rows},
        )


def _check_rows(run_id: str, folder: str) -> str | None:
    """The real rows the run logged with its winner (pandas' split JSON, kept as text: a pickled DataFrame would
    need the training side's pyarrow to load), or None for a run from before they were logged (its worker then
    checks on the input example)."""
    try:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=CHECK_ROWS_ARTIFACT, dst_path=folder)
    except (MlflowException, OSError):  # no such artifact: the stores differ in how they say it
        return None
    return Path(local).read_text()


def boosting_packages(model: MlflowModelDir) -> set[str]:
    """The boosting libraries serving a logged model needs: those it holds an estimator of (the types skops must
    be told to trust name them), and LightGBM for a sklearn forest, which the scorer walks with LightGBM
    (`serving/fast_scoring/forest_as_lightgbm.py`). A model in another format names nothing, so it gets both."""
    flavor = model.spec["flavors"]["sklearn"]
    if flavor.get("serialization_format") != SKOPS_FORMAT:
        return set(BOOSTING_PACKAGES)
    trusted = flavor.get("skops_trusted_types") or []
    needed = {name for name in BOOSTING_PACKAGES if any(t.split(".", 1)[0] == name for t in trusted)}
    if SKLEARN_TREE in trusted:
        needed.add("lightgbm")
    return needed


def serving_packages(models: list[bentoml.Model]) -> list[str]:
    """Pinned to the versions training used; xgboost/lightgbm only when a served model holds one of their
    estimators, not whenever it is a stacking: xgboost's wheel brings CUDA collectives (nvidia-nccl) that would
    weigh as much as the rest of the image for nothing."""
    needed: set[str] = set()
    for model in models:
        needed |= boosting_packages(MlflowModelDir.read(Path(model.path_of(MLFLOW_MODEL_FOLDER))))
    names = [*SERVING_PACKAGES, *(name for name in BOOSTING_PACKAGES if name in needed)]
    return [f"{name}=={package_version(name)}" for name in names]


def carried_packages(bento: bentoml.Bento) -> list[str]:
    """The pinned packages a built Bento installs, as it recorded them (BentoML adds its own pin once more)."""
    requirements = (Path(bento.path) / "env" / "python" / "requirements.txt").read_text().split()
    return list(dict.fromkeys(requirements))


def build_digest(project_root: Path, options: dict[str, object], inputs: list[str]) -> str:
    """Digest of everything the Bento is made of: the source files it carries and the other inputs (stored model
    tags, base image, Python and package versions). New code or packaging is a new Bento and a new immutable image
    tag, even when the champions are the same; the same inputs give the same version."""

    include, exclude = cast(list[str], options["include"]), cast(list[str], options["exclude"])

    def carried(path: Path) -> bool:
        relative = path.relative_to(project_root).as_posix()
        included = any(fnmatch.fnmatch(relative, pattern) for pattern in include)
        return path.is_file() and included and not any(fnmatch.fnmatch(relative, p) for p in exclude)

    digest = hashlib.sha256()
    hash_files(digest, project_root, (p for p in project_root.glob("energy_pipeline/**/*") if carried(p)))
    for value in inputs:
        digest.update(value.encode() + b"\0")
    return digest.hexdigest()[:8]


def build_bento(champions: list[Champion], project_root: Path, base_image: str, python_version: str) -> bentoml.Bento:
    """The Bento's version names the model versions it serves and digests what it is made of, e.g.
    `energy_pipeline:e3-g2-s1a2b3c4d`."""
    models = [import_champion(c) for c in champions]
    by_target = {c.target: c.version for c in champions}
    options = yaml.safe_load(BENTOFILE.read_text())
    packages = serving_packages(models)
    script = (project_root / options["docker"]["setup_script"]).read_text()
    inputs = [*(str(m.tag) for m in models), base_image, python_version, *packages, script]
    digest = build_digest(project_root, options, inputs)
    version = f"e{by_target[SITE_ENERGY.key]}-g{by_target[GHG_EMISSIONS.key]}-s{digest}"
    try:
        return bentoml.get(f"energy_pipeline:{version}")
    except NotFound:
        pass
    # BentoML appends the setup script to a list the service's image shares with each build's copy of it: left
    # there, the next build in this process would refuse to add its packages. Restored after each build.
    post_commands = list(SERVING_IMAGE.post_commands)
    try:
        return bentoml.bentos.build(
            options["service"],
            name=options["name"],
            version=version,
            labels={
                **{f"{key}_version": version for key, version in by_target.items()},
            },
            build_ctx=str(project_root),
            include=options["include"],
            exclude=options["exclude"],
            # by alias: the service asks for `site_energy`, and BentoML answers with exactly this Bento's model
            models=[{"tag": str(m.tag), "alias": c.target} for c, m in zip(champions, models, strict=True)],
            python={**options["python"], "packages": packages},
            docker={**options["docker"], "base_image": base_image, "python_version": python_version},
        )
    finally:
        SERVING_IMAGE.post_commands[:] = post_commands
