"""One training at a time in production, however it starts (the schedule, a person, declarative automation).

Two limits in `deploy/dagster.yaml`: every training asset is in `TRAINING_POOL` (capped at one run in progress),
and every run that can train carries `TRAINING_TAG` (capped by the run queue). The queue's tag limit also holds
when two such runs are queued at the same moment, which the pool limit alone let through in the production
instance test.
"""

TRAINING_POOL = "training"
TRAINING_TAG_KEY = "energy-pipeline/trains"
TRAINING_TAG = {TRAINING_TAG_KEY: "true"}
