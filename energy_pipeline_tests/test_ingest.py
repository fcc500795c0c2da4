"""Bad files give an IngestionError that names the problem; quirks of real exports are parsed correctly."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_pipeline.data.harmonise import harmonise
from energy_pipeline.data.ingest import SOURCE_ROW, IngestionError, read_benchmarking_csv
from energy_pipeline_tests.conftest import export_path

HEADER = "OSEBuildingID,DataYear,PropertyGFATotal"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (HEADER.encode() + b"\n", "header but no data rows"),
        (b"OSEBuildingID;DataYear;PropertyGFATotal\n1;2016;100\n", "separated by semicolons"),
        (b"OSEBuildingID\tDataYear\n1\t2016\n", "separated by tabs"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        (HEADER.encode("utf-16"), "UTF-16"),
        ("OSEBuildingID,PropertyName\n1,Caf\u00e9 Lola\n".encode("latin-1"), "not valid UTF-8"),
        (b"OSEBuildingID,DataYear,DataYear\n1,2016,2016\n", "repeated in the header: DataYear"),
        (f"{HEADER}\n1,2016,100\n{HEADER}\n2,2016,200\n".encode(), "repeat the header line"),
        (f"{HEADER}\n1,2016,100\n2,2016,200,7,8\n".encode(), "malformed CSV"),
        (b"just one column\nvalue\n", "single column"),
        (f"{HEADER}\n1,2016,100\n2,20".encode(), "truncated: its last row \\(data row 2\\) stops after 2 of 3"),
    ],
)
def test_bad_files_raise_a_named_error(content: bytes, expected: str) -> None:
    with pytest.raises(IngestionError, match=expected):
        read_benchmarking_csv(content, name="upload.csv")


def test_error_names_the_file() -> None:
    with pytest.raises(IngestionError, match=r"^2017-export\.csv: the file is empty"):
        read_benchmarking_csv(b"", name="2017-export.csv")


def test_byte_order_mark_and_thousands_separators_are_parsed() -> None:
    source = pd.read_csv(export_path(2016), dtype=str, keep_default_na=False).head(2)
    source["PropertyGFATotal"] = ["88,434", "1,234,567.5"]
    source["ENERGYSTARScore"] = ["NULL", "75"]
    content = b"\xef\xbb\xbf" + source.to_csv(index=False).encode()
    frame = harmonise(read_benchmarking_csv(content))
    assert list(frame["ose_building_id"]) == [1, 2]  # the BOM did not leak into the first column name
    assert list(frame["property_gfa_total"]) == [88434.0, 1234567.5]
    assert frame["energy_star_score"].isna().iloc[0]
    assert frame["energy_star_score"].iloc[1] == 75.0


def test_real_export_keeps_every_row_and_numbers_them() -> None:
    frame = read_benchmarking_csv(export_path(2016))
    assert len(frame) == 3376
    assert list(frame[SOURCE_ROW].iloc[[0, -1]]) == [1, 3376]
    assert frame.drop(columns=[SOURCE_ROW]).dtypes.map(str).isin(["str", "object", "string"]).all()
