"""ASGI middleware in front of the JSON endpoints: body limit, media type, readable 400s.

- A body over `max_body_bytes` → 413 before BentoML reads it: by its
  Content-Length at once; a chunked body is counted as it arrives.
- Media type: JSON, or none / form-encoded / text/plain (what `curl -d` sends),
  which are read as JSON; anything else (multipart, pickle, …) → 415, so no
  other BentoML deserializer ever sees a client's body.
- BentoML answers a pydantic ValidationError with 400 {"error": "1 validation
  error for Input", "detail": [{"loc": ["rows", 3, "tenure"], …}]}; this
  rewrites the body to {"error": "rows[3].tenure: expected a number or null",
  "detail": [{"loc": "rows[3].tenure", "type", "msg"}]}. Only 4xx answers are
  buffered; a 200 passes through untouched.
"""

from __future__ import annotations

import json

from serving.schemas import error_text, field_path, format_errors

_AS_JSON = {b"", b"application/json", b"application/x-www-form-urlencoded", b"text/plain"}


class Guard:
    def __init__(self, app, paths: tuple[str, ...], max_body_bytes: int) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        length = ctype = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"content-type":
                ctype = value
        media = (ctype or b"").split(b";")[0].strip().lower()
        if media not in _AS_JSON and not media.endswith(b"+json"):
            return await _reply(send, 415, f"unsupported content-type {media.decode('latin-1')!r}: send application/json")
        if media != b"application/json":  # let BentoML pick its JSON reader
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope["headers"].append((b"content-type", b"application/json"))
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                return await _reply(send, 400, "bad content-length header")
            if size > self.max_body_bytes:
                return await _too_large(send, self.max_body_bytes)
        else:  # chunked (or no body): count what arrives, then replay it
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                body += message.get("body", b"")
                if len(body) > self.max_body_bytes:
                    return await _too_large(send, self.max_body_bytes)
                if not message.get("more_body", False):
                    break
            receive = _replay(bytes(body), receive)
        await self.app(scope, receive, _ReadableErrors(send))


class _ReadableErrors:
    """A `send` that rewrites 4xx JSON bodies into {"error": "<path>: <message>", "detail"}."""

    __slots__ = ("send", "start", "chunks")

    def __init__(self, send) -> None:
        self.send = send
        self.start = None
        self.chunks: list[bytes] | None = None

    async def __call__(self, message) -> None:
        if self.chunks is None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                self.start, self.chunks = message, []
                return
            return await self.send(message)
        if message["type"] != "http.response.body":
            return await self.send(message)
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = _rewrite(b"".join(self.chunks))
        headers = [(k, v) for k, v in self.start.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        self.chunks = None
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def _rewrite(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]  # BentoML wraps some 4xx errors in a one-element list
    if isinstance(data, dict) and isinstance(data.get("detail"), list):
        raw = [d for d in data["detail"] if isinstance(d, dict)]
        if raw and all("loc" in d for d in raw):
            detail = format_errors([{**d, "loc": _loc(d["loc"])} for d in raw])
            data = {"error": error_text(detail), "detail": detail}
    return json.dumps(data).encode()


def _loc(loc) -> tuple:
    """BentoML sends loc as a list; also accept an already-dotted string."""
    if isinstance(loc, str):
        return (loc,) if loc else ()
    return tuple(loc)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls: wait for the disconnect as the app expects

    return replay


async def _too_large(send, limit: int) -> None:
    await _reply(send, 413, f"request body over {limit} bytes (TK_MAX_BODY_BYTES); "
                            "split the rows over several requests")


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "detail": [{"loc": field_path(()), "type": "request", "msg": message}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
