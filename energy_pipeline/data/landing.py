"""Which data years a landing location holds: a file named `<YEAR>-*.csv` is that year's export."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

YEAR_FILE = re.compile(r"^(?P<year>(19|20)\d{2})[-_][^/]*\.csv$", re.IGNORECASE)


@dataclass(frozen=True)
class LandedFile:
    name: str
    digest: str  # of the content: a re-dropped identical file is not new data
    location: str  # path or s3:// URL


class LandingError(ValueError):
    """The landing location is ambiguous (two files for one year) or lacks a requested year."""


def year_files(names: Iterable[str]) -> dict[str, str]:
    """Map data year -> file name; names that do not look like a year's export are ignored."""
    found: dict[str, str] = {}
    for name in sorted(names):
        match = YEAR_FILE.match(name)
        if not match:
            continue
        year = match["year"]
        if year in found:
            raise LandingError(f"two exports for {year} in the landing location: {found[year]} and {name}")
        found[year] = name
    return found
