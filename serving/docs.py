"""ASGI middleware for the service's own pages: `/` and `/docs.json`.

- `GET /docs.json`: BentoML documents its own APIs and mounted FastAPI apps;
  /metadata is a plain Starlette route, so it would be missing from the
  document (and from what client generators and schemathesis see). This adds it.
- `GET /`: BentoML's index page loads a third-party analytics script (Google
  Tag Manager) onto the service's origin, then Swagger UI. tk answers `/`
  with a plain page of its own instead: links to /docs.json and /metadata, no
  script at all, and a Content-Security-Policy that forbids any. BentoML's
  bundled page assets (/static_content/…, /assets/…) are not served: no
  third-party script is served from the service's origin.
Every other request passes through untouched.
"""

from __future__ import annotations

import json

METADATA_PATH = {
    "get": {
        "summary": "The model's inputs, outputs, classes, metrics, versions and serving settings",
        "operationId": "metadata",
        "tags": ["Service APIs"],
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
}


INDEX = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tk model service</title></head>
<body><h1>tk model service</h1>
<ul>
<li><code>POST /predict</code> {"rows": [row, ...]}: predictions, batched with other requests</li>
<li><code>POST /predict_bulk</code> {"rows": [...]}: the same, unbatched</li>
<li><a href="metadata"><code>GET /metadata</code></a>: inputs, outputs, classes, metrics, limits</li>
<li><a href="docs.json"><code>GET /docs.json</code></a>: the OpenAPI document</li>
</ul></body></html>
"""
_INDEX_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-length", str(len(INDEX)).encode()),
    (b"content-security-policy", b"default-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
]
HIDDEN_PREFIXES = ("/static_content/", "/assets/")  # BentoML's bundled page scripts


class ServiceDocs:
    def __init__(self, app, docs_path: str = "/docs.json") -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == "/" and scope["method"] in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 200, "headers": _INDEX_HEADERS})
            return await send({"type": "http.response.body", "body": INDEX if scope["method"] == "GET" else b""})
        if path.startswith(HIDDEN_PREFIXES):
            body = b'{"error": "not found"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
                }
            )
            return await send({"type": "http.response.body", "body": body})
        if path != self.docs_path or scope["method"] != "GET":
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
