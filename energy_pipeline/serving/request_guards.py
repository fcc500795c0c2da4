"""Requests refused before BentoML parses them, each with a JSON error that says why:

- a body above a size limit gets a 413: a client cannot make the service buffer and validate gigabytes (the
  largest legal request, a batch of MAX_BATCH buildings, fits well inside the default);
- a multipart body gets a 415: every API takes JSON, and BentoML would try to read it as a file upload form
  (a malformed one turns into a 500 there).
"""

from __future__ import annotations

import json
import os
from typing import Any

from energy_pipeline.serving.schemas import MAX_BATCH

MAX_BODY_ENV = "ENERGY_PIPELINE_MAX_BODY_BYTES"
# A fully filled building is ~900 bytes of JSON, so a full batch is ~9 MB.
DEFAULT_MAX_BODY_BYTES = MAX_BATCH * 1600


def max_body_from_environment() -> int:
    value = os.environ.get(MAX_BODY_ENV)
    return int(value) if value else DEFAULT_MAX_BODY_BYTES


async def refuse(send: Any, status: int, message: str) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"error": message}).encode()})


class JsonBodiesOnlyMiddleware:
    """Pure ASGI: a multipart request is a 415 naming the content type to use."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1")
            if content_type.lower().startswith("multipart/"):
                await refuse(send, 415, f"unsupported content type {content_type!r}: send application/json")
                return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Pure ASGI. A declared Content-Length over the limit is refused at once (uvicorn never delivers more than it
    declares); a chunked body is read here, refused as soon as it passes the limit, and otherwise replayed."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body larger than {self.max_bytes} bytes"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await refuse(send, 413, too_large)
            return
        if declared is None:  # chunked: read it here, within the limit, then hand it on
            body = await self._bounded_body(receive)
            if body is None:
                await refuse(send, 413, too_large)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _bounded_body(self, receive: Any) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()  # after the body: wait for the disconnect as the app expects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
