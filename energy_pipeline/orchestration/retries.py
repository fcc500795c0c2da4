"""Retries with exponential backoff for transient failures only (S3, the MLflow server, the registry push).

A bad file or a failing estimator fails at once: retrying cannot fix it. Dagster's RetryPolicy cannot tell the
two apart, so steps raise RetryRequested themselves when the error is a transient one.
"""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions
import dagster as dg
import httpx
import requests
from mlflow.exceptions import MlflowException

MAX_RETRIES = 3
BASE_DELAY_SECONDS = 5.0
_TRANSIENT_TYPES = (
    ConnectionError,
    TimeoutError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    httpx.TransportError,
    subprocess.CalledProcessError,  # docker/buildah push: network or registry hiccup
)
_TRANSIENT_MLFLOW = ("Max retries exceeded", "Connection refused", "TEMPORARILY_UNAVAILABLE", "503", "502")


def is_transient(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT_TYPES):
        return True
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code") in {"SlowDown", "ServiceUnavailable", "Throttling"}
    if isinstance(error, MlflowException):
        return any(marker in str(error) for marker in _TRANSIENT_MLFLOW)
    return is_transient(error.__cause__) if error.__cause__ else False


def backoff_seconds(retry_number: int) -> float:
    return BASE_DELAY_SECONDS * 2**retry_number


@contextmanager
def transient_errors_retried(context: dg.AssetExecutionContext, max_retries: int = MAX_RETRIES) -> Iterator[None]:
    """Re-raise a transient error as RetryRequested (5 s, 10 s, 20 s); anything else propagates unchanged."""
    try:
        yield
    except Exception as error:
        if not is_transient(error):
            raise
        wait = backoff_seconds(context.retry_number)
        context.log.warning(f"transient error, retry {context.retry_number + 1}/{max_retries} in {wait:.0f} s: {error}")
        raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=wait) from error
