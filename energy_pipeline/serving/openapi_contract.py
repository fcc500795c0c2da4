"""`/docs.json` as the service really answers, in valid OpenAPI 3.0. BentoML 1.4 declares OpenAPI 3.0 but embeds
pydantic's JSON Schema 2020-12 (numeric `exclusiveMinimum`, `{"type": "null"}` in `anyOf`), documents a 400's
`detail` as a string while it sends pydantic's list of issues, and cannot know the 401/413/415 that our guards
send. Clients generate code and fuzzers check responses from this document, so it is corrected on its way out."""

from __future__ import annotations

import json
from typing import Any

SPEC_PATH = "/docs.json"
ERROR = {"$ref": "#/components/schemas/RequestRefused"}
VALIDATION_ISSUE = {
    "type": "object",
    "title": "ValidationIssue",
    "description": "One invalid input: where it is (`loc`, e.g. ['building', 'year_built']) and what is wrong",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
REQUEST_REFUSED = {
    "type": "object",
    "title": "RequestRefused",
    "description": "Refused before the API ran: missing API key, body too large, or not JSON",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
GUARD_RESPONSES = {
    "413": "Request body larger than the limit (ENERGY_PIPELINE_MAX_BODY_BYTES)",
    "415": "Not JSON (multipart bodies are refused)",
}
API_KEY_RESPONSE = {"401": "Missing or wrong API key (only when ENERGY_PIPELINE_API_KEY is set)"}


def as_openapi_30(node: Any) -> Any:
    """JSON Schema 2020-12 keywords rewritten the OpenAPI 3.0 way (`nullable`, boolean exclusive bounds)."""
    if isinstance(node, list):
        return [as_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_openapi_30(value) for key, value in node.items()}
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[inclusive], out[bound] = out[bound], True
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out.update(rest[0])
        else:
            out["anyOf"] = rest
        out["nullable"] = True
    return out


def corrected_spec(spec: dict[str, Any], api_key_required: bool) -> dict[str, Any]:
    spec = as_openapi_30(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    invalid = schemas.get("InvalidArgument", {}).get("properties", {})
    if "detail" in invalid:
        invalid["detail"] = {
            "title": "Error Detail",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#/components/schemas/ValidationIssue"}}],
        }
    schemas["ValidationIssue"] = VALIDATION_ISSUE
    schemas["RequestRefused"] = REQUEST_REFUSED
    refusals = {**GUARD_RESPONSES, **(API_KEY_RESPONSE if api_key_required else {})}
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method != "post" or not path.lstrip("/") or path.startswith("/v1/"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in refusals.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ERROR}}}
                )
    return spec


class OpenApiContractMiddleware:
    """Pure ASGI: buffers only the spec's own response and sends the corrected document."""

    def __init__(self, app: Any, api_key_required: bool) -> None:
        self.app = app
        self.api_key_required = api_key_required

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != SPEC_PATH or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if start.get("status") == 200:
            body = json.dumps(corrected_spec(json.loads(body), self.api_key_required)).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
