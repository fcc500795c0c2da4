"""Reading every data year of a partitioned asset from an unpartitioned one."""

from typing import TypeAlias

import dagster as dg
import pandas as pd

# Dagster's filesystem IO manager hands over {partition: value} for several partitions but the bare value when
# only one partition exists, so downstream assets accept both.
YearFrames: TypeAlias = dict[str, pd.DataFrame] | pd.DataFrame


def all_years(value: YearFrames) -> pd.DataFrame:
    if isinstance(value, pd.DataFrame):
        return value.reset_index(drop=True)
    return pd.concat([value[year] for year in sorted(value)], ignore_index=True)


def year_frame_ins(*assets: str) -> dict[str, dg.AssetIn]:
    """Inputs typed explicitly, since Dagster cannot infer a type from the `YearFrames` union."""
    return {asset: dg.AssetIn(dagster_type=dg.Any) for asset in assets}
