"""Every export the City has published (2015-2021, five layouts) ingests through the Dagster assets and passes its
blocking gates with the documented counts; a file of no known layout is stopped naming what it lacks, and
`energy-pipeline ingest` says so, one line a year, exiting non-zero."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from energy_pipeline.cli import RunReport, ingest_line, run_pipeline
from energy_pipeline.data.harmonise import harmonise_export
from energy_pipeline.data.ingest import IngestionError, read_benchmarking_csv
from energy_pipeline_tests.conftest import ALL_YEARS, copy_exports, export_path
from energy_pipeline_tests.support.dagster_helpers import definitions_for, throwaway_instance

pytestmark = pytest.mark.integration

# year -> (layout, raw rows, cleaned rows): docs/data.md's table of rows kept per year
DOCUMENTED = {
    2015: ("2015", 3340, 1423),
    2016: ("2016-2017", 3376, 1544),
    2017: ("2016-2017", 3461, 1522),
    2018: ("2018", 3538, 1487),
    2019: ("2019", 3581, 1525),
    2020: ("2020-on", 3628, 1562),
    2021: ("2020-on", 3663, 1550),
}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunReport]:
    root = tmp_path_factory.mktemp("real-years")
    landing = copy_exports(root / "landing", years=ALL_YEARS)
    with throwaway_instance(root) as instance:
        reports = run_pipeline(instance, definitions_for(landing, root / "artifacts"), jobs=("ingest_job",))
    return {report.label: report for report in reports}


@pytest.mark.parametrize("year", ALL_YEARS)
def test_each_real_export_ingests_through_the_assets_and_passes_its_gates(
    year: int, ingested: dict[str, RunReport]
) -> None:
    report = ingested[f"ingest {year}"]
    layout, raw_rows, cleaned_rows = DOCUMENTED[year]
    assert report.success, report.failures
    assert report.checks and all(passed for _, passed, _ in report.checks), report.checks
    raw = report.materialized["raw_buildings"]
    assert (raw["layout"], raw["dagster/row_count"]) == (layout, raw_rows)
    assert report.materialized["cleaned_buildings"]["dagster/row_count"] == cleaned_rows
    rejected = report.materialized["rejected_buildings"]
    assert rejected["dagster/row_count"] == raw_rows - cleaned_rows
    assert sum(v for k, v in rejected.items() if k.startswith("rejected/")) == raw_rows - cleaned_rows
    assert ingest_line(report) == f"[ok] ingest {year}: {raw_rows} raw, {cleaned_rows} cleaned (layout {layout})"


def test_2021_zeros_for_missing_values_are_counted_as_missing(ingested: dict[str, RunReport]) -> None:
    raw = ingested["ingest 2021"].materialized["raw_buildings"]
    assert raw["zeros_as_missing/energy_star_score"] == 1022
    assert raw["zeros_as_missing/latitude"] == raw["zeros_as_missing/longitude"] == 2
    assert raw["zeros_as_missing/zip_code"] == 55
    assert "zeros_as_missing/energy_star_score" not in ingested["ingest 2020"].materialized["raw_buildings"]


def test_the_compliance_issue_of_2018_on_says_what_the_default_data_and_outlier_flags_said() -> None:
    frame = harmonise_export(read_benchmarking_csv(export_path(2018))).frame
    issues = frame["compliance_issue"]
    # "Default Data" 96 + "Default Data and Low Outlier - EUI" 9 + "... - ENERGY STAR Score" 5
    assert int(frame["default_data"].sum()) == 110
    assert int(issues.str.contains("Default Data").sum()) == 110
    assert frame["outlier"].value_counts().to_dict() == {"low outlier": 96 + 48 + 9 + 5, "high outlier": 29}
    assert frame.loc[issues == "No Issue", "outlier"].isna().all()


def test_an_exact_repeat_of_a_row_is_collapsed_and_counted() -> None:
    source = pd.read_csv(export_path(2019), dtype=str, keep_default_na=False)
    doubled = pd.concat([source, source.head(25)], ignore_index=True).to_csv(index=False).encode()
    harmonised = harmonise_export(read_benchmarking_csv(doubled))
    assert harmonised.exact_duplicates == 25 and len(harmonised.frame) == len(source)


def _with_header(year: int, rename: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    frame = pd.read_csv(export_path(year), dtype=str, keep_default_na=False).head(30)
    buffer = io.StringIO()
    frame.drop(columns=list(drop)).rename(columns=rename or {}).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_a_header_of_no_known_layout_names_the_closest_layout_and_what_it_lacks() -> None:
    content = _with_header(2020, drop=("EPAPropertyType", "YearBuilt"))
    with pytest.raises(IngestionError) as refused:
        harmonise_export(read_benchmarking_csv(content))
    assert "layout '2020-on'" in str(refused.value)
    assert "2 column(s) it lacks: YearBuilt, EPAPropertyType" in str(refused.value)


def test_headers_are_read_in_any_spelling_of_a_known_layout() -> None:
    """The open-data API writes lower-case names; a copy may space them as 2018 does."""
    spelled: dict[str, Any] = {"OSEBuildingID": "osebuildingid", "PropertyGFABuilding(s)": "propertygfabuilding_s"}
    frame = harmonise_export(read_benchmarking_csv(_with_header(2019, rename=spelled)))
    assert frame.layout == "2019" and frame.frame["ose_building_id"].iloc[0] == 1


def test_the_ingest_command_prints_a_line_a_year_and_fails_on_a_blocked_year(tmp_path: Path) -> None:
    landing = copy_exports(tmp_path / "landing", years=(2017,))
    (landing / "2020-building-energy-benchmarking.csv").write_bytes(_with_header(2020, drop=("EPAPropertyType",)))
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {"DAGSTER_HOME": str(home), "ENERGY_PIPELINE_LANDING_DIR": str(landing), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "energy_pipeline.cli", "ingest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[0] == "[ok] ingest 2017: 3461 raw, 1522 cleaned (layout 2016-2017)", done.stdout
    assert lines[1].startswith("[blocked] ingest 2020: raw_buildings: the header matches no known export layout")
    assert "EPAPropertyType" in lines[1]
    assert "Traceback" not in done.stdout + done.stderr
