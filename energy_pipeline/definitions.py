"""The single Definitions object of the code location (`dagster dev -m energy_pipeline`, workspace.yaml)."""

from collections.abc import Mapping

import dagster as dg

from energy_pipeline.defs import checks
from energy_pipeline.defs.assets import buildings, profile
from energy_pipeline.defs.jobs import ingest_job, profile_job
from energy_pipeline.defs.resources import local_resources


def build_definitions(resources: Mapping[str, object] | None = None) -> dg.Definitions:
    """`resources` replaces the defaults by key; tests use it to point the graph at their own folders."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules([buildings, profile]),
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[ingest_job, profile_job],
        resources={**local_resources(), **(resources or {})},
    )


defs = build_definitions()
