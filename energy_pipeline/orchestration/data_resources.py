"""Resources of the data stage: where the exports land, where people's files go, the data-quality thresholds.

Apart from `resources.py` (which assembles every stage's resources per environment) so that the data assets'
code version depends on the data code only, not on serving's or training's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field

from energy_pipeline.data.landing import LandedFile, LandingError, year_files


class LandingZone(dg.ConfigurableResource):
    """Where each year's export lands as `<YEAR>-*.csv`: a local folder, or an S3 prefix when `s3_url` is set
    (read through dagster-aws' S3Resource, so credentials follow the usual AWS chain)."""

    directory: str = Field(default="", description="Folder holding the yearly benchmarking CSV exports")
    s3_url: str = Field(default="", description="s3://bucket/prefix/ holding the exports; empty: use `directory`")
    s3_endpoint_url: str = Field(default="", description="S3 endpoint override (moto in tests); empty: AWS")
    s3_region: str = Field(default="", description="Region of the bucket; empty: the AWS default chain")

    @property
    def location(self) -> str:
        return self.s3_url or self.directory

    def _s3(self) -> tuple[Any, str, str]:
        bucket, _, prefix = self.s3_url.removeprefix("s3://").partition("/")
        client = S3Resource(endpoint_url=self.s3_endpoint_url or None, region_name=self.s3_region or None)
        return client.get_client(), bucket, prefix

    def _exports(self) -> dict[str, tuple[str, str | None]]:
        """File name -> (location, digest when the store gives one for free: S3's ETag)."""
        if self.s3_url:
            client, bucket, prefix = self._s3()
            found = {}
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :].lstrip("/")
                    if "/" not in name:
                        found[name] = (f"s3://{bucket}/{item['Key']}", item["ETag"].strip('"'))
            return found
        folder = Path(self.directory)
        paths = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        return {p.name: (str(p), None) for p in paths}

    def year_files(self) -> dict[str, str]:
        return year_files(self._exports())

    def listing(self) -> dict[str, LandedFile]:
        """Data year -> its export, with a content digest (S3: the ETag) to tell a new drop from a re-drop."""
        exports = self._exports()
        listed = {}
        for year, name in year_files(exports).items():
            location, digest = exports[name]
            listed[year] = LandedFile(name, digest or hashlib.sha256(Path(location).read_bytes()).hexdigest(), location)
        return listed

    def read_year(self, year: str) -> tuple[str, bytes]:
        """(location, content) of that year's export; only that file is read."""
        exports = self._exports()
        files = year_files(exports)
        if year not in files:
            raise LandingError(f"no export for {year} in {self.location} (found years: {sorted(files)})")
        location, _ = exports[files[year]]
        if self.s3_url:
            client, bucket, _ = self._s3()
            return location, client.get_object(Bucket=bucket, Key=location.removeprefix(f"s3://{bucket}/"))[
                "Body"
            ].read()
        return location, Path(location).read_bytes()


class ArtifactStore(dg.ConfigurableResource):
    """Files that people open (plots, reports): kept outside Dagster's storage so they are easy to find."""

    directory: str = Field(description="Folder for plots and reports")

    def folder(self, *parts: str) -> Path:
        path = Path(self.directory, *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


class DataQualityPolicy(dg.ConfigurableResource):
    """Thresholds of the blocking data-quality gates."""

    max_invalid_row_share: float = Field(
        default=0.01,
        description="Share of rows one value rule may fail in a raw file before the file is blocked; "
        "below it those rows are rejected by cleaning",
    )
    min_cleaned_share: float = Field(
        default=0.25, description="Fewest cleaned rows per raw row before a year is treated as a broken file"
    )
    max_cleaned_share: float = Field(
        default=0.80, description="Most cleaned rows per raw row (more means the residential filter broke)"
    )
