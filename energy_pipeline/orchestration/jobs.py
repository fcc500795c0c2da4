"""Explicit jobs: what `make run`, the UI's launchpad and later the schedules materialize."""

from __future__ import annotations

import dagster as dg

from energy_pipeline.orchestration.checks.monitoring import champion_performance_on_year, cleaned_buildings_drift
from energy_pipeline.orchestration.concurrency import TRAINING_TAG

ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.assets("raw_buildings", "cleaned_buildings", "rejected_buildings"),
    description="One data year: raw export -> harmonised -> cleaned and rejected, behind blocking checks.",
)

monitoring_job = dg.define_asset_job(
    name="monitoring_job",
    selection=dg.AssetSelection.checks(cleaned_buildings_drift, champion_performance_on_year),
    description="One data year's drift and decay checks against the current champions, without re-ingesting it: "
    "run after training, so every year is compared with the champion trained on it and its neighbours.",
)

profile_job = dg.define_asset_job(
    name="profile_job",
    selection=dg.AssetSelection.assets("buildings_profile"),
    description="EDA plots over every data year.",
)

training_job = dg.define_asset_job(
    name="training_job",
    selection=dg.AssetSelection.groups("models") - dg.AssetSelection.assets("feature_ablation"),
    tags=TRAINING_TAG,
    description="Pooled training data -> tuned candidates -> registered models and the champion gate, both targets.",
)

ablation_job = dg.define_asset_job(
    name="ablation_job",
    selection=dg.AssetSelection.assets("feature_ablation"),
    tags=TRAINING_TAG,
    description="What each feature group is worth, per target (analysis; not part of retraining).",
)

serving_job = dg.define_asset_job(
    name="serving_job",
    selection=dg.AssetSelection.groups("serving"),
    description="Bento of the current champions -> container image -> ECR (image and push skip without a builder "
    "or a registry).",
)
