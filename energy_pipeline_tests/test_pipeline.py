"""The data half of the graph materialized in-process on the real exports, and its gates on broken copies."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from energy_pipeline.cli import format_summary, run_pipeline
from energy_pipeline.orchestration.partitions import DATA_YEARS_NAME
from energy_pipeline_tests.conftest import export_path
from energy_pipeline_tests.support.dagster_helpers import (
    check_results,
    definitions_for,
    materialized_partitions,
    throwaway_instance,
)

pytestmark = pytest.mark.integration

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def test_whole_graph_on_real_data(landing: Callable[..., Path], tmp_path: Path) -> None:
    defs = definitions_for(landing(), tmp_path / "artifacts")
    with throwaway_instance(tmp_path) as instance:
        reports = run_pipeline(instance, defs, jobs=("ingest_job", "profile_job"))
        assert [r.label for r in reports] == ["ingest 2015", "ingest 2016", "profile"]
        assert all(r.success for r in reports), format_summary(reports)
        assert instance.get_dynamic_partitions(DATA_YEARS_NAME) == ["2015", "2016"]
        for asset in ("raw_buildings", "cleaned_buildings", "rejected_buildings"):
            assert materialized_partitions(instance, asset) == {"2015", "2016"}

        expected = {"2015": (3340, 1423), "2016": (3376, 1544)}
        for report in reports[:2]:
            year = report.label.split()[1]
            raw = report.materialized["raw_buildings"]["dagster/row_count"]
            kept = report.materialized["cleaned_buildings"]["dagster/row_count"]
            rejected = report.materialized["rejected_buildings"]["dagster/row_count"]
            assert (raw, kept) == expected[year]
            assert kept + rejected == raw
            per_reason = {
                k: v for k, v in report.materialized["rejected_buildings"].items() if k.startswith("rejected/")
            }
            assert sum(per_reason.values()) == rejected
            assert len(report.checks) == 6  # 4 blocking gates + drift and champion score (no champion yet: pass)
            assert {name for name, passed, _ in report.checks if passed} == {
                "raw_buildings:raw_buildings_schema",
                "cleaned_buildings:cleaned_buildings_schema",
                "cleaned_buildings:cleaned_row_share",
                "cleaned_buildings:rows_accounted_for",
                "cleaned_buildings:cleaned_buildings_drift",
                "cleaned_buildings:champion_performance_on_year",
            }

        profile = reports[2].materialized["buildings_profile"]
        files = [Path(p) for p in profile["files"]]
        assert len(files) == 4 and all(p.stat().st_size > 10_000 for p in files)
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in files)
        assert profile["plots"].count("data:image/png;base64,") == 4
        assert profile["data_years"] == ["2015", "2016"]


def _corrupt(year: int, change: Callable[[pd.DataFrame], pd.DataFrame]) -> bytes:
    frame = pd.read_csv(export_path(year), dtype=str, keep_default_na=False)
    buffer = io.StringIO()
    change(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def _negative_areas(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[frame.index[::10], "PropertyGFAParking"] = "-1500"  # every tenth row: far past the tolerance
    return frame


def _duplicated_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Two different rows for one building, on a fifth of the rows: far past what cleaning may reject."""
    frame.loc[frame.index[1::10], "OSEBuildingID"] = frame.loc[frame.index[::10], "OSEBuildingID"].to_numpy()
    return frame


def _text_year(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "YearBuilt"] = "nineteen twenty"
    return frame


def _all_three(frame: pd.DataFrame) -> pd.DataFrame:
    return _text_year(_duplicated_ids(_negative_areas(frame)))


@pytest.mark.parametrize(
    ("change", "failing_columns"),
    [
        (_negative_areas, ["property_gfa_parking"]),
        (_duplicated_ids, ["data_year+ose_building_id"]),
        (_text_year, ["year_built", "year_built+data_year"]),
        (
            _all_three,
            ["data_year+ose_building_id", "property_gfa_parking", "year_built", "year_built+data_year"],
        ),
    ],
    ids=["negative-area", "duplicated-ids", "text-in-a-number-column", "all-three"],
)
def test_blocking_check_stops_a_corrupted_file(
    landing: Callable[..., Path],
    tmp_path: Path,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    failing_columns: list[str],
) -> None:
    defs = definitions_for(landing(years=(2016,), replace={2016: _corrupt(2016, change)}), tmp_path / "art")
    with throwaway_instance(tmp_path) as instance:
        instance.add_dynamic_partitions(DATA_YEARS_NAME, ["2016"])
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, partition_key="2016", raise_on_error=False, run_config=QUIET
        )
        assert not result.success
        check = check_results(result)["raw_buildings_schema"]
        assert not check.passed
        assert check.metadata["failing_columns"].value == failing_columns
        assert "BLOCKING" in (check.description or "")
        assert "cleaned_buildings_schema" not in check_results(result)
        assert materialized_partitions(instance, "raw_buildings") == {"2016"}
        assert materialized_partitions(instance, "cleaned_buildings") == set()
        assert materialized_partitions(instance, "rejected_buildings") == set()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"OSEBuildingID;DataYear\n1;2016\n", "separated by semicolons"),
        (_corrupt(2016, lambda frame: frame.drop(columns=["YearBuilt"])), "lacks: YearBuilt"),
    ],
)
def test_unreadable_file_fails_the_raw_step_with_its_reason(
    landing: Callable[..., Path], tmp_path: Path, content: bytes, message: str
) -> None:
    defs = definitions_for(landing(years=(2016,), replace={2016: content}), tmp_path / "art")
    with throwaway_instance(tmp_path) as instance:
        instance.add_dynamic_partitions(DATA_YEARS_NAME, ["2016"])
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, partition_key="2016", raise_on_error=False, run_config=QUIET
        )
        assert not result.success
        failures = [e for e in result.all_events if e.is_step_failure]
        assert [e.step_key for e in failures] == ["raw_buildings"]
        assert message in failures[0].step_failure_data.user_failure_data.description
        assert materialized_partitions(instance, "raw_buildings") == set()


def test_a_new_file_in_the_landing_folder_becomes_a_partition(tmp_path: Path) -> None:
    folder = tmp_path / "landing"
    folder.mkdir()
    next_year = _corrupt(2016, lambda f: f.assign(DataYear="2017"))
    (folder / "2017-building-energy-benchmarking.csv").write_bytes(next_year)
    defs = definitions_for(folder, tmp_path / "art")
    with throwaway_instance(tmp_path) as instance:
        reports = run_pipeline(instance, defs, jobs=("ingest_job", "profile_job"))
        assert all(r.success for r in reports), format_summary(reports)
        assert instance.get_dynamic_partitions(DATA_YEARS_NAME) == ["2017"]
        assert materialized_partitions(instance, "cleaned_buildings") == {"2017"}
