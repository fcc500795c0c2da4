"""Fixtures built from the real exports in data/raw; tests copy and corrupt them in their own temp folders."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from energy_pipeline.domain.harmonise import harmonise
from energy_pipeline.domain.ingest import read_benchmarking_csv
from energy_pipeline.orchestration.settings import PROJECT_ROOT

RAW_DIR = PROJECT_ROOT / "data" / "raw"

# BentoML reads its store location when first imported: every Bento and model the tests build goes to a temp
# store, never to the developer's ~/bentoml or the project's .bentoml.
_BENTO_STORE = tempfile.mkdtemp(prefix="energy-pipeline-bentoml-")
os.environ["BENTOML_HOME"] = _BENTO_STORE
atexit.register(shutil.rmtree, _BENTO_STORE, ignore_errors=True)
YEARS = (2015, 2016)


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
    return {year: harmonise(read_benchmarking_csv(export_path(year))) for year in YEARS}


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
