"""ASGI middleware in front of every route: who may ask, how big, what media type, readable 4xx.

    Guard(app, settings, readers={"/predict": RowsReader(...), "/predict_bulk": ...})

Every HTTP request, in this order, each refusal one JSON line {"error", "detail"}:
1. `Host` not in `TK_ALLOWED_HOSTS` (when set) → 400: a page on another
   origin that re-points its DNS name at this service (DNS rebinding) cannot
   read it. /livez and /readyz are exempt (probes use an IP).
2. `TK_API_TOKEN` set and no `Authorization: Bearer <token>` (compared in
   constant time) → 401 with `WWW-Authenticate: Bearer`. /livez and /readyz
   are exempt.
3. More than one `Content-Type` (or `Content-Length`) header → 400: BentoML
   reads the first, a proxy may read the last; never guess.
4. A body over `TK_MAX_BODY_BYTES` → 413, on every route: by Content-Length
   at once; a chunked body is counted as it arrives.
5. A non-empty body that is not `application/json` (or `…+json`) → 415, on
   every route. Form-encoded and text/plain bodies are refused: a web page on
   any origin may POST those without a CORS preflight.
6. `POST` to a route with a reader (/predict, /predict_bulk): the body is
   read and validated here (serving.request: rows limit → 413, at most
   `TK_MAX_ERRORS` errors → 400); BentoML gets the validated value
   (`scope["tk.input"]`, read by `serving.service`'s input spec) and never
   parses a client's bytes itself.
Other 4xx answers from BentoML are rewritten to the same shape when they
are small (≤ 64 KiB); larger ones pass untouched (never re-parsed).
"""

from __future__ import annotations

import hmac
import json

from serving.request import ClientError, RowsReader
from serving.schemas import error_text, field_path, format_errors
from serving.settings import Settings

EXEMPT = frozenset({"/livez", "/readyz"})  # health probes: no token, any Host
SCOPE_KEY = "tk.input"
_REWRITE_LIMIT = 64 * 1024


class Guard:
    def __init__(self, app, settings: Settings, readers: dict[str, RowsReader]) -> None:
        self.app = app
        self.max_body_bytes = settings.max_body_bytes
        self.readers = readers
        self.token = settings.api_token.encode() if settings.api_token else None
        self.hosts = frozenset(h.encode("latin-1") for h in settings.allowed_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        length = ctype = host = auth = None
        ctypes = lengths = 0
        for key, value in scope["headers"]:
            if key == b"content-length":
                length, lengths = value, lengths + 1
            elif key == b"content-type":
                ctype, ctypes = value, ctypes + 1
            elif key == b"host":
                host = value
            elif key == b"authorization":
                auth = value
        if path not in EXEMPT:
            if self.hosts and not self._host_allowed(host):
                shown = (host or b"").decode("latin-1")[:100]
                return await _refuse(
                    send, 400, f"Host header {shown!r} is not one this service answers (TK_ALLOWED_HOSTS)"
                )
            if self.token is not None and not _bearer_ok(auth, self.token):
                return await _refuse(
                    send,
                    401,
                    "missing or wrong API token: send `Authorization: Bearer <token>` (TK_API_TOKEN)",
                    [(b"www-authenticate", b"Bearer")],
                )
        if ctypes > 1 or lengths > 1:
            which = "Content-Type" if ctypes > 1 else "Content-Length"
            return await _refuse(send, 400, f"more than one {which} header: send exactly one")
        size = None
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                return await _refuse(send, 400, "bad Content-Length header")
            if size > self.max_body_bytes:
                return await _too_large(send, self.max_body_bytes)
        has_body = bool(size) if size is not None else _chunked(scope)
        if has_body and not _is_json(ctype):
            shown = (ctype or b"").split(b";")[0].strip().decode("latin-1")[:100]
            return await _refuse(send, 415, f"unsupported content-type {shown!r}: send application/json")
        reader = self.readers.get(path) if scope["method"] == "POST" else None
        if reader is None and not (has_body and size is None):
            return await self.app(scope, receive, _ReadableErrors(send))
        body = bytearray()
        while True:  # a chunked body, or a reader's route: count what arrives
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return await _too_large(send, self.max_body_bytes)
            if not message.get("more_body", False):
                break
        body = bytes(body)
        if reader is not None:
            try:
                scope = {**scope, SCOPE_KEY: await reader.read_async(body)}
            except ClientError as e:
                return await _reply(send, e.status, e.body())
        await self.app(scope, _replay(body, receive), _ReadableErrors(send))

    def _host_allowed(self, host: bytes | None) -> bool:
        if not host:
            return False
        host = host.lower()
        if host in self.hosts:
            return True
        name = host[: host.rindex(b":")] if b":" in host and not host.endswith(b"]") else host
        return name in self.hosts


def _bearer_ok(auth: bytes | None, token: bytes) -> bool:
    """`Authorization: Bearer <token>` (the scheme in any case), the token compared in constant time."""
    if auth is None or auth[:7].lower() != b"bearer ":
        return False
    return hmac.compare_digest(auth[7:].strip(b" "), token)


def _chunked(scope) -> bool:
    return any(k == b"transfer-encoding" for k, _ in scope["headers"])


def _is_json(ctype: bytes | None) -> bool:
    media = (ctype or b"").split(b";")[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class _ReadableErrors:
    """A `send` that rewrites small 4xx JSON bodies into {"error": "<path>: <message>", "detail"}."""

    __slots__ = ("send", "start", "chunks", "size")

    def __init__(self, send) -> None:
        self.send = send
        self.start = None
        self.chunks: list[bytes] | None = None
        self.size = 0

    async def __call__(self, message) -> None:
        if self.chunks is None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                self.start, self.chunks = message, []
                return
            return await self.send(message)
        if message["type"] != "http.response.body":
            return await self.send(message)
        chunk = message.get("body", b"")
        self.chunks.append(chunk)
        self.size += len(chunk)
        more = message.get("more_body", False)
        if self.size > _REWRITE_LIMIT:  # too big to re-parse: pass it on as it is
            start, chunks, self.chunks = self.start, self.chunks, None
            await self.send(start)
            await self.send({"type": "http.response.body", "body": b"".join(chunks), "more_body": more})
            return
        if more:
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
    await _refuse(
        send, 413, f"request body over {limit} bytes (TK_MAX_BODY_BYTES); split the rows over several requests"
    )


async def _refuse(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": message, "detail": [{"loc": field_path(()), "type": "request", "msg": message}]})
    await _reply(send, status, body.encode(), headers, close=True)


async def _reply(send, status: int, body: bytes, headers: list | None = None, close: bool = False) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    if close:  # the body may still be arriving: do not read it, end the connection
        head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})
