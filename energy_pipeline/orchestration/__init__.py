"""Dagster plumbing the stages share: settings, resources per environment, partitions, metadata, retries and the
training limits. The assets and checks live in each stage's `defs.py`."""
