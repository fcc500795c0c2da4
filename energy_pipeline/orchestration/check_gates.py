"""Blocking checks hold back training, not only their own run: a year whose current data has not passed them all is
refused by `training_data` whatever starts it (the weekly schedule, a manual materialization), not only by
automation."""

import dagster as dg


def unpassed_blocking_checks(
    instance: dg.DagsterInstance, asset: str, checks: tuple[str, ...], partitions: list[str]
) -> list[str]:
    """`<year>: <check>` for each blocking check that has not passed on the partition's current data: failed, not
    run, or run on an older materialization."""
    keys = [dg.AssetCheckKey(dg.AssetKey(asset), name) for name in checks]
    infos = instance.event_log_storage.get_asset_check_partition_info(keys, partition_keys=partitions)
    passed = {
        (info.partition_key, info.check_key.name)
        for info in infos
        if info.latest_execution_status.value == "SUCCEEDED" and info.is_current
    }
    return [f"{year}: {check}" for year in partitions for check in checks if (year, check) not in passed]
