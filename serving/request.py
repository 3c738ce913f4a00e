"""Read one /predict body into validated rows, with bounded work and a bounded answer.

    reader = RowsReader(Input, max_rows=10_000, max_errors=20)
    value = reader.read(body)            # an `Input` (pydantic), or raises ClientError(status, message, detail)

Order of the checks, cheapest first, so no client can make the server do
work in proportion to anything but the limits:
1. rows per request: a body with more than `max_rows` commas (so one that
   could hold more than `max_rows` rows; counting bytes costs ~0.05 ms per
   MB) is parsed once (pydantic-core's JSON parser, no validation) and its
   rows counted; over the limit is a 413 naming `TK_MAX_ROWS`. No row is
   validated. (A 1 MB string in one row is not parsed twice.)
2. validation: pydantic in JSON mode, the whole body in one call (the `rows`
   field also carries `max_length`, so its OpenAPI schema says the limit).
3. an invalid body: pydantic counts its errors without building them; when
   there are more than `max_errors`, the rows are re-validated one at a time
   only until `max_errors` are found, and the rest are counted, not listed.
   The answer is at most `max_errors` entries: a 30 KB body of `{}` rows
   gives a 400 of a few KB, not one error per field per row (~20 MB).

`await reader.read_async(body)` is the same answer for the event loop: a body
over `SLICE_BYTES` with at least `SLICE_ROWS` commas is parsed once, then validated `SLICE_ROWS` rows at a
time (each slice written back to JSON and validated in JSON mode, so the
rules are exactly those of one call), yielding to the event loop between
slices: pydantic holds the GIL, and validating a 4 MiB body in one call held
the loop ~250 ms while small requests waited. Anything unusual about the
body (not an object of `rows`, a slice that fails) falls back to `read`,
whose answer is the reference.
"""

from __future__ import annotations

import asyncio
import json

import pydantic_core
from pydantic import BaseModel, ValidationError

from serving.schemas import error_text, format_errors

SLICE_BYTES = 256 * 1024  # bodies above this are validated in slices
SLICE_ROWS = 256  # rows per slice: ~5-10 ms of validation on the event loop


class ClientError(Exception):
    """A request the server refuses: HTTP `status`, one-line `message`, `detail` [{"loc", "type", "msg"}]."""

    def __init__(self, status: int, message: str, detail: list[dict] | None = None, more: int = 0) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.detail = detail if detail is not None else [{"loc": "(body)", "type": "request", "msg": message}]
        self.more = more  # errors found but not listed

    def body(self) -> bytes:
        doc = {"error": self.message, "detail": self.detail}
        if self.more:
            doc["more_errors"] = self.more
        return json.dumps(doc).encode()


class RowsReader:
    def __init__(self, model: type[BaseModel], row_model: type[BaseModel], max_rows: int, max_errors: int) -> None:
        """`model`: the request body's pydantic model (a `rows` list of `row_model`)."""
        self.model, self.row_model = model, row_model
        self.max_rows, self.max_errors = max_rows, max_errors

    def read(self, body: bytes) -> BaseModel:
        body = body or b"{}"
        parsed = None
        if len(body) > 3 * self.max_rows and body.count(b",") >= self.max_rows:  # n rows need n - 1 commas
            parsed = _parse(body)
            rows = parsed.get("rows") if isinstance(parsed, dict) else None
            if isinstance(rows, list) and len(rows) > self.max_rows:
                raise ClientError(
                    413,
                    f"{len(rows)} rows in one request; the limit is {self.max_rows} "
                    "(TK_MAX_ROWS): split the rows over several requests",
                )
        try:
            return self.model.model_validate_json(body)
        except ValidationError as e:
            raise self._invalid(e, body, parsed) from None

    async def read_async(self, body: bytes) -> BaseModel:
        """`read(body)`, validating a large body in slices with the event loop served between them."""
        if len(body) <= SLICE_BYTES or body.count(b",") < SLICE_ROWS:  # small, or few rows (a 1 MB string)
            return self.read(body)
        parsed = _parse(body)
        rows = parsed.get("rows") if isinstance(parsed, dict) and len(parsed) == 1 else None
        if not isinstance(rows, list):
            return self.read(body)
        if len(rows) > self.max_rows:
            raise ClientError(
                413,
                f"{len(rows)} rows in one request; the limit is {self.max_rows} "
                "(TK_MAX_ROWS): split the rows over several requests",
            )
        valid: list = []
        for start in range(0, len(rows), SLICE_ROWS):
            await asyncio.sleep(0)  # let the requests that arrived meanwhile run
            try:
                part = json.dumps({"rows": rows[start : start + SLICE_ROWS]}, allow_nan=True).encode()
                valid += self.model.model_validate_json(part).rows
            except (ValidationError, ValueError):
                return self.read(body)  # the reference answer, with its bounded errors
        return self.model.model_construct(rows=valid)

    def _invalid(self, error: ValidationError, body: bytes, parsed) -> ClientError:
        total = error.error_count()
        if total <= self.max_errors:
            raw = error.errors(include_url=False, include_context=False, include_input=False)
            detail = format_errors(raw)
            return ClientError(400, error_text(detail), detail)
        if parsed is None:
            parsed = _parse(body)
        raw: list[dict] = []
        rows = parsed.get("rows") if isinstance(parsed, dict) else None
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            try:
                self.row_model.model_validate_json(json.dumps(row))
            except ValidationError as e:
                raw += [
                    {**d, "loc": ("rows", i, *d["loc"])}
                    for d in e.errors(include_url=False, include_context=False, include_input=False)
                ]
            except ValueError:  # a value json cannot write back: report the row as a whole
                raw.append({"loc": ("rows", i), "type": "value_error", "msg": "value out of range"})
            if len(raw) >= self.max_errors:
                break
        if not raw:  # not a row problem after all: list what pydantic found, bounded
            raw = error.errors(include_url=False, include_context=False, include_input=False)[: self.max_errors]
        raw = raw[: self.max_errors]
        detail = format_errors(raw)
        more = max(0, total - len(raw))
        return ClientError(
            400, error_text(detail) + (f" (and {more} more errors not listed)" if more else ""), detail, more
        )


def _parse(body: bytes):
    """The body as Python values (no validation); None when it is not JSON (validation then says so)."""
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return None
