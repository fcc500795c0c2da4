"""Serving: the request/response contract, the predictor both the service and tests use, and the Bento build."""
