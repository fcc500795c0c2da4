from __future__ import annotations

import pytest

from energy_pipeline.data.landing import LandingError, year_files


def test_year_files_picks_yearly_exports_only() -> None:
    names = [
        "2016-building-energy-benchmarking.csv",
        "2015_export.CSV",
        "README.md",
        "2016-columns.json",
        "x.csv",
    ]
    assert year_files(names) == {"2015": "2015_export.CSV", "2016": "2016-building-energy-benchmarking.csv"}


def test_two_exports_for_one_year_are_ambiguous() -> None:
    with pytest.raises(LandingError, match="two exports for 2016"):
        year_files(["2016-a.csv", "2016-b.csv"])
