"""Fixtures built from the real exports in data/raw; tests copy and corrupt them in their own temp folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from energy_pipeline.data.harmonise import harmonise
from energy_pipeline.data.ingest import read_benchmarking_csv
from energy_pipeline.orchestration.settings import PROJECT_ROOT

RAW_DIR = PROJECT_ROOT / "data" / "raw"

# BentoML reads its store location when first imported: every Bento and model the tests build goes to a temp
# store, never to the developer's ~/bentoml or the project's .bentoml.
_BENTO_STORE = tempfile.mkdtemp(prefix="energy-pipeline-bentoml-")
os.environ["BENTOML_HOME"] = _BENTO_STORE
atexit.register(shutil.rmtree, _BENTO_STORE, ignore_errors=True)
YEARS = (2015, 2016)  # what the training tests fit on: two years keep the suite within CI's time
ALL_YEARS = tuple(range(2015, 2022))  # every real export in data/raw, one per layout and more


def export_path(year: int) -> Path:
    return RAW_DIR / f"{year}-building-energy-benchmarking.csv"


def copy_exports(folder: Path, years: tuple[int, ...] = YEARS) -> Path:
    """A landing folder holding copies of the real exports."""
    folder.mkdir(parents=True, exist_ok=True)
    for year in years:
        shutil.copy(export_path(year), folder / export_path(year).name)
    return folder


@pytest.fixture(scope="session")
def harmonised() -> dict[int, pd.DataFrame]:
    return {year: harmonise(read_benchmarking_csv(export_path(year))) for year in ALL_YEARS}


@pytest.fixture(scope="session")
def training_rows(harmonised: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """What `training_data` holds for every real year: model inputs, targets, ids and the held-out flag."""
    from energy_pipeline.data.cleaning import clean_buildings
    from energy_pipeline.data.validation import validate_raw
    from energy_pipeline.models.modelling import training_frame

    cleaned = [
        clean_buildings(raw, validate_raw(raw, year, 0.02).invalid_rows).cleaned for year, raw in harmonised.items()
    ]
    return training_frame(pd.concat(cleaned, ignore_index=True))


@pytest.fixture
def landing(tmp_path: Path) -> Callable[..., Path]:
    """A landing folder holding copies of the real exports, optionally with one year's text replaced."""

    def build(years: tuple[int, ...] = YEARS, replace: dict[int, bytes] | None = None) -> Path:
        folder = tmp_path / "landing"
        folder.mkdir(exist_ok=True)
        for year in years:
            target = folder / export_path(year).name
            if replace and year in replace:
                target.write_bytes(replace[year])
            else:
                shutil.copy(export_path(year), target)
        return folder

    return build


SERVING_JOBS = ("ingest_job", "training_job", "serving_job")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The whole graph on every real export (small grid), its Bento served by `bentoml serve` on a free port."""
    # imported here, not at the top: BentoML must first see the temp BENTOML_HOME set above
    from energy_pipeline.cli import format_summary, run_pipeline
    from energy_pipeline.orchestration.serving_resources import BentoPackaging, ImageBuilder
    from energy_pipeline_tests.support.dagster_helpers import (
        definitions_for,
        materialized_partitions,
        throwaway_instance,
    )
    from energy_pipeline_tests.support.services import served_bento

    root = tmp_path_factory.mktemp("serving")
    landing = copy_exports(root / "landing", years=ALL_YEARS)
    with throwaway_instance(root) as instance:
        # buildah without its base image: the image is skipped with the reason, on any machine
        defs = definitions_for(
            landing,
            root / "artifacts",
            builder=ImageBuilder(backend="buildah"),
            packaging=BentoPackaging(base_image="localhost/energy-pipeline-tests/absent-base:0"),
        )
        reports = run_pipeline(instance, defs, jobs=SERVING_JOBS)
        assert all(r.success for r in reports), format_summary(reports)
        serving = reports[-1]
        bento_tag = serving.materialized["bento"]["bento"]
        observations = {
            record.asset_key.to_user_string(): record.event_log_entry.asset_observation.metadata["skipped"].value
            for record in instance.fetch_observations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("serving_image")), limit=5
            ).records
        }
        tracking_uri = defs.resources["mlflow"].tracking_uri
        image_materialized = materialized_partitions(instance, "serving_image")
    with served_bento(bento_tag, root / "server.log") as base:
        yield {
            "base": base,
            "log": root / "server.log",
            "bento": bento_tag,
            "tracking_uri": tracking_uri,
            "skipped": observations,
            "image_materialized": image_materialized,
            "summary": format_summary(reports),
        }
