"""The EDA profile of all data years, shown as plots on the asset's page."""

import dagster as dg

from energy_pipeline.domain.columns import DATA_YEAR
from energy_pipeline.domain.profile import render_profile
from energy_pipeline.orchestration.assets.buildings import DATA_GROUP
from energy_pipeline.orchestration.automation import AFTER_CHECKED_UPSTREAM
from energy_pipeline.orchestration.data_resources import ArtifactStore
from energy_pipeline.orchestration.metadata import embedded_images
from energy_pipeline.orchestration.partitioned_inputs import YearFrames, all_years, year_frame_ins
from energy_pipeline.version import source_version


@dg.asset(
    code_version=source_version(__name__),
    group_name=DATA_GROUP,
    ins=year_frame_ins("raw_buildings", "cleaned_buildings", "rejected_buildings"),
    kinds={"matplotlib"},
    automation_condition=AFTER_CHECKED_UPSTREAM,
    description="Target distributions (raw and log), missing values per column, outliers and targets by "
    "property type, across every materialized data year.",
)
def buildings_profile(
    raw_buildings: YearFrames,
    cleaned_buildings: YearFrames,
    rejected_buildings: YearFrames,
    artifacts: ArtifactStore,
) -> dg.MaterializeResult:
    cleaned = all_years(cleaned_buildings)
    images = render_profile(
        all_years(raw_buildings), cleaned, all_years(rejected_buildings), artifacts.folder("profile")
    )
    return dg.MaterializeResult(
        metadata={
            "plots": embedded_images(images),
            "files": [str(path) for path in images.values()],
            "data_years": sorted(str(year) for year in cleaned[DATA_YEAR].unique()),
        }
    )
