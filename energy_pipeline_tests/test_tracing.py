"""Requests left out of BentoML's tracing still get their ids (`serving/tracing.py`); served: `test_serving.py`."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any

from bentoml._internal.context import trace_context
from opentelemetry import trace
from opentelemetry.util.http import ExcludeList

from energy_pipeline.serving.service import EnergyService
from energy_pipeline.serving.tracing import UNTRACED, RequestIdentity

Seen = list[tuple[trace.SpanContext, int | None]]


def _run(scope: dict[str, Any], current: trace.Span | None = None) -> tuple[Seen, Seen]:
    """What the app inside sees, and what an outer middleware sees once the call has returned (BentoML's access
    log line is written there)."""
    inside: Seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        inside.append((trace.get_current_span().get_span_context(), trace_context.request_id))

    async def request() -> Seen:
        with trace.use_span(current) if current is not None else nullcontext():
            await RequestIdentity(app)(scope, None, None)
            return [(trace.get_current_span().get_span_context(), trace_context.request_id)]

    outside = asyncio.run(request())  # a task of its own, as each request is in the server
    return inside, outside


def test_an_untraced_request_gets_fresh_ids_seen_inside_and_after() -> None:
    first_inside, first_after = _run({"type": "http"})
    second_inside, _ = _run({"type": "http"})
    ids, request_id = first_inside[0]
    assert ids.is_valid and not ids.trace_flags.sampled and request_id == ids.span_id
    assert first_after == first_inside  # the access log line, written outside, reads the same ids
    assert second_inside[0][0].trace_id != ids.trace_id and second_inside[0][1] != request_id
    assert trace_context.request_id is None and not trace.get_current_span().get_span_context().is_valid  # no leak


def test_a_traced_request_keeps_its_span_and_lifespan_events_pass() -> None:
    traced = trace.NonRecordingSpan(trace.SpanContext(trace_id=7, span_id=11, is_remote=False))
    inside, _ = _run({"type": "http"}, current=traced)
    assert inside == [(traced.get_span_context(), None)]
    lifespan, _ = _run({"type": "lifespan"})
    assert lifespan == [(trace.INVALID_SPAN_CONTEXT, None)]


def test_the_service_leaves_every_route_out_of_tracing_by_default() -> None:
    assert EnergyService.config["tracing"] == UNTRACED
    excluded = ExcludeList(UNTRACED["excluded_urls"])
    for route in ("/predict", "/predict_batch", "/model_info", "/v1/model_info", "/readyz"):
        assert excluded.url_disabled(f"http://127.0.0.1:3000{route}")
    assert RequestIdentity in [cls for cls, _ in EnergyService.middlewares]
