"""A corpus of broken exports built from the real 2016 CSV. A champion is first trained on 2015; each broken 2016
then arrives. For every one the ingest run stops, at a blocking check or with an ingestion error that names the
problem; the training run that follows (what the weekly schedule would start) registers nothing; and the
champions, their versions and their artifact files are exactly as before."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.orchestration.partitions import DATA_YEARS_NAME
from energy_pipeline_tests.conftest import copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance

pytestmark = pytest.mark.e2e

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
MODEL_NAMES = ("energy-pipeline-site-energy", "energy-pipeline-ghg-emissions")
REAL = export_path(2016).read_bytes()


def _edited(change: Callable[[pd.DataFrame], pd.DataFrame]) -> bytes:
    frame = pd.read_csv(export_path(2016), dtype=str, keep_default_na=False)
    buffer = io.StringIO()
    change(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def _every_tenth(column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[::10], column] = value
        return frame

    return change


def _swap(first: str, second: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The values of two columns exchanged under unchanged headers (a mis-mapped export)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[[first, second]] = frame[[second, first]].to_numpy()
        return frame

    return change


def _negative_and_absurd_areas(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[::10], "PropertyGFATotal"] = "-25000"
    frame.loc[frame.index[5::10], "PropertyGFATotal"] = "9000000000000"
    return frame


def _text_target(frame: pd.DataFrame) -> pd.DataFrame:
    frame["SiteEnergyUse(kBtu)"] = "about a million"
    return frame


def _two_revisions(frame: pd.DataFrame) -> pd.DataFrame:
    """Two revisions of the export concatenated: every building twice, with different figures (exact repeats
    would be collapsed and pass; these cannot be told apart)."""
    revised = frame.copy()
    revised["SiteEnergyUse(kBtu)"] = "1000"
    return pd.concat([frame, revised], ignore_index=True)


def _all_residential(frame: pd.DataFrame) -> pd.DataFrame:
    """Readable and well-typed, so it reaches cleaning, which then keeps almost nothing."""
    frame["BuildingType"] = "Multifamily LR (1-4)"
    return frame


def _header_twice() -> bytes:
    lines = REAL.decode("utf-8-sig").splitlines()
    return "\n".join([*lines, lines[0], *lines[1:50]]).encode()


# name -> (file content, words the failure must contain)
CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated": (lambda: REAL[: int(len(REAL) * 0.6)], "truncated"),
    "wrong_delimiter": (lambda: REAL.decode("utf-8-sig").replace(",", ";").encode(), "semicolons"),
    "binary_garbage": (lambda: bytes(range(256)) * 64, "binary content"),
    "header_only": (lambda: REAL.decode("utf-8-sig").splitlines()[0].encode() + b"\n", "no data rows"),
    "duplicated_header": (_header_twice, "repeat the header line"),
    "swapped_columns": (lambda: _edited(_swap("YearBuilt", "PropertyGFATotal")), "year_built"),
    "negative_and_absurd_areas": (lambda: _edited(_negative_and_absurd_areas), "property_gfa_total"),
    "year_built_in_the_future": (lambda: _edited(_every_tenth("YearBuilt", "2999")), "year_built"),
    "coordinates_outside_seattle": (lambda: _edited(_every_tenth("Latitude", "40.7128")), "latitude"),
    "text_target": (lambda: _edited(_text_target), "site_energy_use_kbtu: coerce_dtype"),
    "all_residential": (lambda: _edited(_all_residential), "cleaned_row_share"),
    "two_revisions": (lambda: _edited(_two_revisions), "data_year+ose_building_id: one_row_per_building"),
    "unknown_layout": (lambda: _edited(lambda f: f.drop(columns=["YearBuilt"])), "lacks: YearBuilt"),
}


def _artifact_digests(client: MlflowClient) -> dict[str, str]:
    """Every file of every registered version, by path: a champion's artifacts must not change or vanish."""
    digests = {}
    for name in MODEL_NAMES:
        for version in client.search_model_versions(f"name='{name}'"):
            folder = Path(client.get_model_version_download_uri(name, version.version).removeprefix("file://"))
            for path in sorted(folder.rglob("*")):
                # MLflow itself (re)writes `registered_model_meta` (name and version) whenever it loads models:/...
                if path.is_file() and path.name != "registered_model_meta":
                    digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _registry_state(client: MlflowClient) -> dict[str, Any]:
    return {
        "versions": {n: sorted(v.version for v in client.search_model_versions(f"name='{n}'")) for n in MODEL_NAMES},
        "champions": {n: client.get_model_version_by_alias(n, "champion").version for n in MODEL_NAMES},
        "artifacts": _artifact_digests(client),
    }


@pytest.fixture(scope="module")
def champion_2015(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Champions trained on 2015 in an MLflow store the cases share; each case then has its own Dagster instance."""
    root = tmp_path_factory.mktemp("corpus")
    landing = copy_exports(root / "landing", years=(2015,))
    with throwaway_instance(root) as instance:
        defs = definitions_for(landing, root / "artifacts")
        reports = run_pipeline(instance, defs, jobs=("ingest_job", "training_job"))
        assert all(r.success for r in reports), format_summary(reports)
    return {"root": root, "client": MlflowClient(defs.resources["mlflow"].tracking_uri)}


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """What a person sees: step failure messages and the failed checks' descriptions and metadata."""
    parts = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data
            parts.append(data.user_failure_data.description if data.user_failure_data else data.error.message)
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            parts.append(f"{evaluation.check_name}: {evaluation.description} {evaluation.metadata}")
    return "\n".join(p for p in parts if p)


@pytest.mark.parametrize("case", list(CORPUS))
def test_a_broken_export_is_stopped_and_nothing_is_registered_from_it(
    case: str, champion_2015: dict[str, Any], tmp_path: Path
) -> None:
    client = champion_2015["client"]
    before = _registry_state(client)
    landing = copy_exports(tmp_path / "landing", years=(2015,))
    content, words = CORPUS[case]
    (landing / export_path(2016).name).write_bytes(content())
    defs = definitions_for(landing, champion_2015["root"] / "artifacts")  # the champions' MLflow store
    with throwaway_instance(tmp_path) as instance:
        instance.add_dynamic_partitions(DATA_YEARS_NAME, ["2015", "2016"])
        ingest = defs.resolve_job_def("ingest_job")
        assert ingest.execute_in_process(instance=instance, partition_key="2015", run_config=QUIET).success
        broken = ingest.execute_in_process(
            instance=instance, partition_key="2016", raise_on_error=False, run_config=QUIET
        )
        assert not broken.success
        failure = _failure_text(broken)
        assert words in failure, failure

        training = defs.resolve_job_def("training_job").execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET
        )
        assert not training.success
        materialized = {e.asset_key.to_user_string() for e in training.get_asset_materialization_events()}
        assert not materialized & {"training_data", "site_energy_model", "ghg_emissions_model"}, materialized
    after = _registry_state(client)
    assert after["versions"] == before["versions"] and after["champions"] == before["champions"]
    changed = {
        path
        for path in before["artifacts"].keys() | after["artifacts"].keys()
        if before["artifacts"].get(path) != after["artifacts"].get(path)
    }
    assert not changed, changed
