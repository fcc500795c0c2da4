"""BentoML internals the service uses: its configuration container (no public setter for model aliases, no
public reader of the tracing settings) and the request context it takes a request's id from."""

from bentoml._internal.configuration.containers import BentoMLContainer
from bentoml._internal.context import trace_context

__all__ = ["BentoMLContainer", "trace_context"]
