"""Dagster wiring: assets, checks, resources and jobs around the plain-Python domain modules."""
