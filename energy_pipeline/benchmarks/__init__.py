"""Benchmarks that report (never pass or fail on time): `python -m energy_pipeline.bench <mode>`."""
