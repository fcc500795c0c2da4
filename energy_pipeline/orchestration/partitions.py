"""Data years are dynamic partitions: a new file in the landing location adds one, without a code change."""

from __future__ import annotations

import dagster as dg

DATA_YEARS_NAME = "data_years"
DATA_YEARS = dg.DynamicPartitionsDefinition(name=DATA_YEARS_NAME)


def register_years(instance: dg.DagsterInstance, years: list[str]) -> list[str]:
    """Add the years the instance does not know yet; returns the ones added."""
    new = sorted(set(years) - set(instance.get_dynamic_partitions(DATA_YEARS_NAME)))
    if new:
        instance.add_dynamic_partitions(DATA_YEARS_NAME, new)
    return new
