"""The bad requests of the mixed-traffic test and benchmark: ten kinds, built from one good row.

    kinds = bad_bodies(row, max_body=1_500_000)   # [(kind, body bytes, extra)]

`extra` may hold "headers" (sent instead of the JSON content type) and
"chunked" (send with Transfer-Encoding: chunked). The two oversized bodies are
over `max_body`, so the server (TK_MAX_BODY_BYTES = max_body) answers 413 and
may close the connection while the client is still sending.
"""

from __future__ import annotations

import json
import random

HUGE = "x" * 1_000_000  # a 1 MB string: under a 1.5 MB body limit
EARLY_CLOSE = frozenset({"oversized body (Content-Length)", "oversized body (chunked)"})


def bad_bodies(row: dict, max_body: int) -> list[tuple[str, bytes, dict]]:
    def body(**edit):
        return json.dumps({"rows": [{**row, **edit}]}).encode()

    missing = dict(row)
    missing.pop(next(k for k, v in row.items() if isinstance(v, float)))
    text_field = next(k for k, v in row.items() if isinstance(v, str))
    number_field = next(k for k, v in row.items() if isinstance(v, float))
    oversized = body(**{text_field: "y" * (max_body + 100_000)})
    return [
        ("malformed JSON", body()[:-7], {}),
        ("missing field", json.dumps({"rows": [missing]}).encode(), {}),
        ("wrong type (string for a number)", body(**{number_field: "three"}), {}),
        ("wrong type (object for a string)", body(**{text_field: {"a": 1}}), {}),
        ("oversized body (Content-Length)", oversized, {}),
        ("oversized body (chunked)", oversized, {"chunked": True}),
        ("huge string in a number field", body(**{number_field: HUGE}), {}),
        ("huge string in an unknown field", body(comment=HUGE), {}),
        ("not JSON at all", bytes(random.Random(3).randrange(256) for _ in range(300)), {}),
        ("multipart content-type", body(), {"headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
    ]
