"""The access-log sampling filter on BentoML's own log lines."""

from __future__ import annotations

import logging

import pytest

from energy_pipeline.serving.access_log import (
    ACCESS_LOG_EVERY_ENV,
    ACCESS_LOGGER,
    SuccessSampling,
    access_log_every_from_environment,
    sample_access_log,
)


def _line(status: int) -> logging.LogRecord:
    """What BentoML's AccessLogMiddleware logs for one request."""
    args = ("127.0.0.1:5000", "scheme=http,method=POST,path=/predict", f"status={status},length=10", 1.2)
    return logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "%s (%s) (%s) %.3fms", args, None)


def test_one_success_in_n_and_every_refusal_is_kept() -> None:
    sampling = SuccessSampling(every=4)
    kept = [sampling.filter(_line(200)) for _ in range(10)]
    assert kept == [True, False, False, False, True, False, False, False, True, False]
    assert all(sampling.filter(_line(status)) for status in (400, 401, 413, 500))
    other = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "client connected", None, None)
    assert sampling.filter(other)


def test_the_environment_sets_n_and_one_means_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ACCESS_LOG_EVERY_ENV, raising=False)
    assert access_log_every_from_environment() == 1
    monkeypatch.setenv(ACCESS_LOG_EVERY_ENV, "100")
    assert access_log_every_from_environment() == 100
    monkeypatch.setenv(ACCESS_LOG_EVERY_ENV, "0")
    with pytest.raises(ValueError, match=ACCESS_LOG_EVERY_ENV):
        access_log_every_from_environment()


def test_installing_twice_leaves_one_filter_and_one_removes_it() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    try:
        sample_access_log(10)
        sample_access_log(5)
        filters = [f for f in logger.filters if isinstance(f, SuccessSampling)]
        assert [f.every for f in filters] == [5]
        sample_access_log(1)
        assert not any(isinstance(f, SuccessSampling) for f in logger.filters)
    finally:
        sample_access_log(1)
