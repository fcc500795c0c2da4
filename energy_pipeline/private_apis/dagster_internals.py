"""Dagster internals the CLI reads: which assets are stale and why (Dagster's UI computes this; no public API
gives it for a job), the partition tag of a checks-only run, and Dagster's clock."""

from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._time import get_current_datetime

__all__ = [
    "PARTITION_NAME_TAG",
    "AssetGraphView",
    "CachingStaleStatusResolver",
    "StaleStatus",
    "TemporalContext",
    "get_current_datetime",
]
