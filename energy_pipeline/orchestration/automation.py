"""Declarative automation's condition for what follows a checked ingest: the profile and the training chain
materialize on their own once every blocking check of their inputs passed (eager). The sensor that evaluates it
is in `operations/defs.py`; serving has no condition, `champion_changed_sensor` drives it."""

import dagster as dg

AFTER_CHECKED_UPSTREAM = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
