"""Reading a benchmarking CSV export into an all-text frame, failing early with a message a person can act on.

Every column is read as text so that typing happens in one place (harmonise) and a bad value can be named
instead of being silently turned into NaN by pandas' type inference.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

SOURCE_ROW = "source_row"

_DELIMITER_NAMES = {";": "semicolon", "\t": "tab", "|": "pipe"}
# The portal writes missing values as empty fields, and 2016 also as the literal NULL.
NULL_MARKERS = ["", "NULL", "null", "NA", "N/A", "#N/A"]


class IngestionError(ValueError):
    """The file cannot be read as a benchmarking table; the message says why and where."""


def read_benchmarking_csv(source: Path | bytes, *, name: str | None = None) -> pd.DataFrame:
    """Parse one year's export; adds `source_row` (1-based data row number) so reports can point at rows."""
    label = name or (source.name if isinstance(source, Path) else "<bytes>")
    raw = source.read_bytes() if isinstance(source, Path) else source
    text = _decode(raw, label)
    header = _header_fields(text, label)
    _reject_truncated_end(text, header, label)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=NULL_MARKERS,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise IngestionError(f"{label}: malformed CSV: {exc}") from exc
    if frame.empty:
        raise IngestionError(f"{label}: the file has a header but no data rows")
    _reject_repeated_header(frame, header, label)
    frame.insert(0, SOURCE_ROW, range(1, len(frame) + 1))
    return frame


def _decode(raw: bytes, label: str) -> str:
    if not raw.strip():
        raise IngestionError(f"{label}: the file is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestionError(f"{label}: the file is UTF-16 encoded; export it as UTF-8 CSV")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise IngestionError(f"{label}: binary content (NUL byte at offset {nul}); this is not a CSV text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestionError(
            f"{label}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            "re-export the file as UTF-8"
        ) from exc


def _header_fields(text: str, label: str) -> list[str]:
    first_line = text.split("\n", 1)[0]
    fields = next(csv.reader([first_line]), [])
    if len(fields) < 2:
        found = [name for sep, name in _DELIMITER_NAMES.items() if sep in first_line]
        if found:
            raise IngestionError(
                f"{label}: expected comma-separated values but the header is separated by {found[0]}s; "
                "export it with ',' as the delimiter"
            )
        raise IngestionError(f"{label}: the header has a single column ({first_line[:60]!r}); not a CSV export")
    stripped = [field.strip() for field in fields]
    repeated = sorted({field for field in stripped if stripped.count(field) > 1})
    if repeated:
        raise IngestionError(f"{label}: column names repeated in the header: {', '.join(repeated)}")
    return stripped


def _reject_truncated_end(text: str, header: list[str], label: str) -> None:
    """An export cut off mid-row (an interrupted download or copy) ends without a newline on a short last row."""
    if text.endswith(("\n", "\r")) or "\n" not in text.strip():
        return
    last_line = text.rsplit("\n", 1)[1]
    fields = next(csv.reader([last_line]), [])
    if len(fields) < len(header):
        rows = text.count("\n")
        raise IngestionError(
            f"{label}: the file is truncated: its last row (data row {rows}) stops after {len(fields)} of "
            f"{len(header)} fields without a line end; copy or download the export again"
        )


def _reject_repeated_header(frame: pd.DataFrame, header: list[str], label: str) -> None:
    """A second header row inside the data means two exports were concatenated."""
    first = frame.iloc[:, 0].str.strip() == header[0]
    candidates = frame[first.fillna(False)]
    matches = [idx for idx, row in candidates.iterrows() if [str(v).strip() for v in row] == header]
    if matches:
        rows = [int(i) + 1 for i in matches[:5]]
        raise IngestionError(f"{label}: data rows {rows} repeat the header line (files concatenated?)")
