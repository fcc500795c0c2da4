"""Serving: the request/response contract, the predictor and its fast scorer, the BentoML service, the Bento build,
the image and the push (`defs.py` wires the last three into Dagster; the service itself never imports Dagster)."""
