"""The model stage: features, the evaluation protocol, candidates, selection, intervals, forward evaluation and
the MLflow registry (`defs.py` wires it into Dagster)."""
