"""Serving under attack (issue 16, items 1-6): limits, headers, tokens, hosts (item 9 and issue 15 item 5:
test_serving_checks.py).

Two real `bentoml serve` processes of the churn model on 127.0.0.1 (started
once each, stopped by PID with their children): one with small limits
(TK_MAX_ROWS 50, TK_MAX_ERRORS 10, batches of 8 rows, onnxruntime chunks of
16 rows), one with TK_API_TOKEN and TK_ALLOWED_HOSTS set. Raw sockets where
a test needs headers that http.client would not send (two Content-Types).
Every call has a timeout. The batcher's pieces, the Predictor's chunks, the settings and
`tk serve`'s warning off loopback are tested without a server in tests/test_serving_parts.py.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
from pathlib import Path

import pytest

from serving.process import ServerProcess
from toolkit.runtime.predictor import Predictor

ROOT = Path(__file__).resolve().parents[1]
MAX_ROWS, MAX_ERRORS, MAX_BODY = 50, 10, 100_000
TOKEN = "tk-test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def model_dir(churn_model):
    return churn_model[1]


@pytest.fixture(scope="module")
def rows(churn_json_rows):
    return churn_json_rows


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory, request):
    env = {
        "BENTOML_HOME": str(tmp_path_factory.mktemp("home-limits")),
        "TK_MAX_ROWS": str(MAX_ROWS),
        "TK_MAX_ERRORS": str(MAX_ERRORS),
        "TK_MAX_BODY_BYTES": str(MAX_BODY),
        "TK_MAX_BATCH_SIZE": "8",
        "TK_CHUNK_ROWS": "16",
        "TK_MAX_LATENCY_MS": "5000",
    }
    srv = ServerProcess(model_dir, env=env, start_timeout=60)
    request.addfinalizer(srv.stop)
    return srv.start()


@pytest.fixture(scope="module")
def locked(model_dir, tmp_path_factory, request):
    env = {
        "BENTOML_HOME": str(tmp_path_factory.mktemp("home-locked")),
        "TK_API_TOKEN": TOKEN,
        "TK_ALLOWED_HOSTS": "model.internal, 127.0.0.1",
    }
    srv = ServerProcess(model_dir, env=env, start_timeout=60)
    request.addfinalizer(srv.stop)
    return srv.start()


def call(server, path, body=None, method="POST", headers=None, timeout=20):
    """(status, parsed JSON or raw bytes, response headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        payload = resp.read()
        try:
            payload = json.loads(payload)
        except ValueError:
            pass
        return resp.status, payload, dict(resp.getheaders())
    finally:
        conn.close()


def raw(server, head: bytes, body: bytes = b"", timeout=20) -> int | None:
    """Send `head` (request line and headers, CRLF-separated, without the blank line) and `body` as they are."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head + b"\r\n\r\n" + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None  # closed without an answer
            data += chunk
    return int(data.split(b" ", 2)[1])


# ---- item 1: rows per request, chunks ------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/predict_bulk"])
def test_more_rows_than_TK_MAX_ROWS_is_413_naming_the_limit(server, rows, path):
    status, body, _ = call(server, path, {"rows": [rows[0]] * (MAX_ROWS + 1)})
    assert status == 413, body
    assert f"{MAX_ROWS + 1} rows" in body["error"] and "TK_MAX_ROWS" in body["error"] and str(MAX_ROWS) in body["error"]
    # bad rows make no difference: the count is checked before any row is validated
    status, body, _ = call(server, path, {"rows": [{}] * (MAX_ROWS * 20)})
    assert status == 413 and "TK_MAX_ROWS" in body["error"]


@pytest.mark.parametrize("path", ["/predict", "/predict_bulk"])
def test_a_request_of_max_rows_runs_in_pieces_and_answers_in_order(server, model_dir, rows, path):
    """50 rows, batches of 8, chunks of 16: the same answers, in the same order, as one Predictor call."""
    batch = (rows * 2)[:MAX_ROWS]
    status, got, _ = call(server, path, {"rows": batch})
    assert status == 200, got
    want = Predictor(model_dir).predict(batch)
    assert [g["churn"]["label"] for g in got] == [w["churn"]["label"] for w in want]
    for g, w in zip(got, want):
        assert g["churn"]["probabilities"] == pytest.approx(w["churn"]["probabilities"], abs=1e-6)


# ---- item 2: error amplification -------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/predict_bulk"])
def test_many_bad_rows_give_at_most_TK_MAX_ERRORS_errors_and_a_count(server, rows, path):
    status, body, headers = call(server, path, {"rows": [{}] * MAX_ROWS})
    assert status == 400
    fields = len(rows[0])
    assert len(body["detail"]) == MAX_ERRORS
    assert body["detail"][0] == {
        "loc": f"rows[0].{next(iter(rows[0]))}",
        "type": "missing",
        "msg": "field required (send null for a missing value)",
    }
    assert body["more_errors"] == MAX_ROWS * fields - MAX_ERRORS
    assert f"and {MAX_ROWS * fields - MAX_ERRORS} more errors" in body["error"]
    assert int(headers["content-length"]) < 5_000  # was one error per field per row (~20 MB for 30 KB)


def test_few_errors_are_all_listed_and_a_bad_row_far_down_is_found(server, rows):
    batch = [dict(r) for r in (rows * 2)[:MAX_ROWS]]
    batch[47]["tenure"] = "three"
    status, body, _ = call(server, "/predict", {"rows": batch})
    assert status == 400 and body["error"].startswith("rows[47].tenure:") and "more_errors" not in body


# ---- item 3: the body limit on every route ---------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/ping"),
        ("GET", "/metadata"),
        ("GET", "/docs.json"),
        ("POST", "/nothing-here"),
        ("GET", "/livez"),
        ("POST", "/predict"),
    ],
)
def test_the_body_limit_holds_on_every_route(server, method, path):
    big = b"[" + b"1," * (MAX_BODY // 2) + b"1]"
    status, body, _ = call(server, path, big, method=method)
    assert status == 413 and "TK_MAX_BODY_BYTES" in body["error"], (method, path, status)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked".encode()
    )
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i : i + 8192]), big[i : i + 8192]) for i in range(0, len(big), 8192))
    assert raw(server, head, chunks + b"0\r\n\r\n") in (413, None)


# ---- item 4: headers, and no 5xx from any client input ----------------------------------


def test_two_content_types_are_refused(server, rows):
    """BentoML reads the first Content-Type, a proxy may read the last: multipart then JSON was a 500."""
    for body in (
        b'{"rows": [{"tenure": ' + b"9" * 5000 + b"}]}",
        b"[" * 3000 + b"]" * 3000,
        json.dumps({"rows": rows[:1]}).encode(),
    ):
        head = (
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d" % len(body)
        )
        assert raw(server, head, body) == 400


HEADER_VALUES = {
    b"Content-Type": [
        b"application/json",
        b"multipart/form-data; boundary=x",
        b"text/plain",
        b"application/x-www-form-urlencoded",
        b"application/vnd.bentoml+pickle",
        b"application/json;;",
        b"application/json; charset=latin-1",
        b"application/x+json",
        b"\xff\xfe",
        b"",
        b"*/*",
        b"multipart/form-data",
        b"application/octet-stream",
    ],
    b"Content-Encoding": [b"gzip", b"br", b"identity"],
    b"Accept": [b"application/vnd.bentoml+pickle", b"text/event-stream", b"*/*"],
    b"Authorization": [b"Bearer x", b"Basic Zm9vOmJhcg==", b"\x00"],
    b"Host": [b"evil.example", b"127.0.0.1:1", b"[::1]", b"a" * 300],
    b"Expect": [b"100-continue", b"nothing"],
    b"X-Forwarded-For": [b"1.2.3.4, 5.6.7.8"],
    b"Cookie": [b"a=" + b"b" * 3000],
}
BODIES = [
    b'{"rows": [{"tenure": ' + b"9" * 5000 + b"}]}",
    b"[" * 3000 + b"]" * 3000,
    b"",
    b"{}",
    b'{"rows": [{}]}',
    b"\x00\x01\x02",
    b'--x\r\nContent-Disposition: form-data; name="rows"\r\n\r\n[]\r\n--x--',
    b'{"rows": "' + b"x" * 2000 + b'"}',
    b'{"rows": [[]], "rows": 1}',
]


def test_fuzzed_headers_and_bodies_never_give_a_5xx(server, rows):
    rng = random.Random(16)
    good = json.dumps({"rows": rows[:2]}).encode()
    paths = [b"/predict", b"/predict_bulk", b"/ping", b"/metadata", b"/", b"/docs.json", b"/predict?x=1"]
    seen = set()
    parsers = [b"application/json", b"multipart/form-data; boundary=x", b"multipart/form-data"]  # BentoML's
    for _ in range(240):
        body = rng.choice(BODIES + [good])
        headers = [(b"Host", b"127.0.0.1")]
        for name in rng.sample(sorted(HEADER_VALUES), rng.randrange(0, 4)):
            for _ in range(rng.choice([1, 1, 2])):  # sometimes the same header twice
                headers.append((name, rng.choice(HEADER_VALUES[name])))
        if rng.random() < 0.3:  # two media types its readers know, in either order
            headers += [(b"Content-Type", rng.choice(parsers)), (b"Content-Type", rng.choice(parsers))]
        if rng.random() < 0.15:
            headers.append((b"Content-Length", b"%d" % len(body)))  # a second Content-Length
        method = rng.choice([b"POST", b"POST", b"GET", b"PUT"])
        head = b"%s %s HTTP/1.1\r\n" % (method, rng.choice(paths)) + b"\r\n".join(
            k + b": " + v for k, v in headers + [(b"Content-Length", b"%d" % len(body))]
        )
        status = raw(server, head, body)
        seen.add(status)
        assert status is None or status < 500, (head[:300], body[:80], status)
    assert {400, 415} <= seen and call(server, "/predict", {"rows": rows[:1]})[0] == 200


# ---- item 5: token, hosts, the warning ---------------------------------------------------


def test_the_token_is_required_except_for_probes(locked, rows):
    body = {"rows": rows[:1]}
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": TOKEN},
        {"Authorization": f"bearer  {TOKEN}x"},
    ):
        status, answer, got = call(locked, "/predict", body, headers=headers)
        assert status == 401 and "TK_API_TOKEN" in answer["error"] and got.get("www-authenticate") == "Bearer"
    assert call(locked, "/metadata", method="GET")[0] == 401
    assert call(locked, "/metrics", method="GET")[0] == 401
    assert call(locked, "/", method="GET")[0] == 401 and call(locked, "/docs.json", method="GET")[0] == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert call(locked, "/predict", body, headers=auth)[0] == 200
    assert call(locked, "/predict", body, headers={"Authorization": f"bearer {TOKEN}"})[0] == 200  # RFC 7235
    assert call(locked, "/metadata", method="GET", headers=auth)[1]["serving"]["authentication"] == "bearer token"
    for probe in ("/livez", "/readyz"):
        assert call(locked, probe, method="GET")[0] == 200


def test_a_host_outside_the_allow_list_is_refused(locked, rows):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for host in ("evil.example", "model.internal.evil.example", ""):
        status, answer, _ = call(locked, "/metadata", method="GET", headers={**auth, "Host": host})
        assert status == 400 and "TK_ALLOWED_HOSTS" in answer["error"], host
    for host in ("model.internal", "MODEL.internal:8080", "127.0.0.1"):
        assert call(locked, "/metadata", method="GET", headers={**auth, "Host": host})[0] == 200, host
    assert call(locked, "/readyz", method="GET", headers={"Host": "10.0.0.7"})[0] == 200


# ---- item 6: no third-party script, no paths ---------------------------------------------


def test_index_page_has_no_script_and_bundled_scripts_are_not_served(server):
    status, page, headers = call(server, "/", method="GET")
    assert status == 200 and isinstance(page, bytes) and b"/predict" in page
    assert b"<script" not in page.lower() and b"http" not in page.lower()
    assert headers["content-security-policy"] == "default-src 'none'"
    for asset in (
        "/static_content/swagger-ui-bundle.js",
        "/static_content/swagger-initializer.js",
        "/assets/bentoml-ui.umd.js",
    ):
        assert call(server, asset, method="GET")[0] == 404, asset
