"""Helpers the tests share: servers they start (PostgreSQL, moto, MLflow, a registry), Dagster definitions on a
test's own folders, image tooling, credential scans and the lock file read back. No tests here."""
