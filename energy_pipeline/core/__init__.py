"""What every stage agrees on, with no Dagster: column and target names, asset and check names, limits and code
versions."""
