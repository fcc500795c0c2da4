"""Requests untraced unless tracing is asked for. BentoML records every request as OpenTelemetry spans even with
no exporter configured and a sample rate of 0 (its sampler always records, so that log lines can carry the ids):
a server span with its attributes and a span per message received and sent, about 0.3 ms of Python a request,
for spans nothing ever exports. On 2 cores the model-free floor served twice the requests at c=8 without them
(`bench/README.md`). So the service leaves its routes out of tracing by default (`UNTRACED`), and `RequestIdentity`
gives each request the ids tracing would have given it: log lines still read `(trace=…,span=…,sampled=0,…)` and
a response still carries `X-BentoML-Request-ID`.

To trace, configure an exporter and put the routes back, e.g. BENTOML_CONFIG_OPTIONS="
services.energy_pipeline.tracing.exporter_type=otlp services.energy_pipeline.tracing.otlp.endpoint=http://collector:4318
services.energy_pipeline.tracing.otlp.protocol=http services.energy_pipeline.tracing.excluded_urls=/livez,/readyz".
A worker that finds an exporter while the routes are still excluded says so in its log (`untraced_with_exporter`).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from energy_pipeline.private_apis.bentoml_internals import BentoMLContainer, trace_context

EVERY_ROUTE = ".*"  # BentoML matches these patterns anywhere in the request's URL
UNTRACED = {"excluded_urls": [EVERY_ROUTE]}
_IDS = RandomIdGenerator()


class RequestIdentity:
    """Pure ASGI: an untraced request gets a current, non-recording span with fresh ids and BentoML's request id;
    a traced one (a span is already current) passes unchanged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not trace.get_current_span().get_span_context().is_valid:
            span_id = _IDS.generate_span_id()
            ids = trace.SpanContext(_IDS.generate_trace_id(), span_id, is_remote=False)
            # Left attached: the request's own task ends with it, and BentoML's access log line, written by an
            # outer middleware once the response is sent, reads the ids from it.
            context.attach(trace.set_span_in_context(trace.NonRecordingSpan(ids)))
            trace_context.request_id = span_id
        await self.app(scope, receive, send)


def routes_traced_option(service: str, excluded: str = "/livez") -> str:
    """The BentoML option (for BENTOML_CONFIG_OPTIONS) that puts a service's routes back into tracing."""
    return f"services.{service}.tracing.excluded_urls={excluded}"


def untraced_with_exporter(path: str = "/predict") -> bool:
    """In a serving worker: an exporter is configured, yet `path` is still left out of tracing."""
    exporter = BentoMLContainer.config.tracing.exporter_type.get()
    excluded = BentoMLContainer.tracing_excluded_urls.get()
    return exporter is not None and excluded is not None and excluded.url_disabled(f"http://localhost{path}")
