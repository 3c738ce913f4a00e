"""ASGI middleware that adds `GET /metadata` to the service's OpenAPI document (/docs.json).

BentoML documents its own APIs and mounted FastAPI apps; /metadata is a plain
Starlette route, so it would be missing from the document (and from the
Swagger page, and from what client generators and schemathesis see). This
rewrites the one JSON answer of `GET /docs.json`; every other request passes
through untouched.
"""

from __future__ import annotations

import json

METADATA_PATH = {
    "get": {
        "summary": "The model's inputs, outputs, classes, metrics, versions and serving settings",
        "operationId": "metadata",
        "tags": ["Service APIs"],
        "responses": {"200": {"description": "Successful Response",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }
}


class MetadataDoc:
    def __init__(self, app, docs_path: str = "/docs.json") -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != self.docs_path or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        start, chunks = None, []

        async def capture(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                body = _with_metadata(body)
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, capture)


def _with_metadata(body: bytes) -> bytes:
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc, dict) and isinstance(doc.get("paths"), dict):
        doc["paths"].setdefault("/metadata", METADATA_PATH)
    return json.dumps(doc).encode()
