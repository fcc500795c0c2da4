"""Sampled access log: BentoML writes one formatted line per request, a tenth of a single building's served time.
Every request that was refused or failed (status >= 400, or no status) is logged; of the successful ones, one
in ENERGY_PIPELINE_ACCESS_LOG_EVERY (default 1: every request). `/metrics` counts every request either way."""

from __future__ import annotations

import itertools
import logging
import os

ACCESS_LOG_EVERY_ENV = "ENERGY_PIPELINE_ACCESS_LOG_EVERY"
ACCESS_LOGGER = "bentoml.access"


def access_log_every_from_environment() -> int:
    value = os.environ.get(ACCESS_LOG_EVERY_ENV)
    every = int(value) if value else 1
    if every < 1:
        raise ValueError(f"{ACCESS_LOG_EVERY_ENV} must be 1 or more, got {value!r}")
    return every


class SuccessSampling(logging.Filter):
    """Keeps the 1st, (n+1)th, ... successful request's line, and every other line."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self._successes = itertools.count()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        # BentoML's line: address, (request fields), (response fields: "status=200,..."), latency
        succeeded = len(args) == 4 and str(args[2]).startswith("status=2")
        return not succeeded or next(self._successes) % self.every == 0


def sample_access_log(every: int) -> None:
    """Installed in each worker; a second call replaces the first's filter."""
    logger = logging.getLogger(ACCESS_LOGGER)
    for old in [f for f in logger.filters if isinstance(f, SuccessSampling)]:
        logger.removeFilter(old)
    if every > 1:
        logger.addFilter(SuccessSampling(every))
