"""Benchmarks that report (never pass or fail on time): `python -m bench <mode>` from the project root."""
