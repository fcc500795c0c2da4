"""The data stage: a year's export read, harmonised to one schema, validated and cleaned (`defs.py` wires it into
Dagster)."""
