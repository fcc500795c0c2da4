"""Optional API key: when ENERGY_PIPELINE_API_KEY is set where the service runs, every call but health,
metrics and the API docs must carry it (`x-api-key: <key>` or `Authorization: Bearer <key>`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

API_KEY_ENV = "ENERGY_PIPELINE_API_KEY"
OPEN_PATHS = frozenset({"/", "/healthz", "/livez", "/readyz", "/metrics", "/docs.json"})
OPEN_PREFIXES = ("/static_content/",)


def api_key_from_environment() -> str | None:
    """The deployment's key (an ECS secret in production); None keeps the endpoint open, as locally."""
    return os.environ.get(API_KEY_ENV) or None


class ApiKeyMiddleware:
    """Pure ASGI: compares digests in constant time; a refusal is a JSON 401 that says what is missing."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self.digest = hashlib.sha256(api_key.encode()).digest()

    def _allowed(self, headers: dict[bytes, bytes]) -> bool:
        given = headers.get(b"x-api-key", b"")
        bearer = headers.get(b"authorization", b"")
        if not given and bearer.lower().startswith(b"bearer "):
            given = bearer[7:]
        return hmac.compare_digest(hashlib.sha256(given).digest(), self.digest)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._allowed(dict(scope.get("headers", []))):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "missing or wrong API key: send it as the x-api-key header"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "http.response.body", "body": body})
