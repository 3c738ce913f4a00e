"""The BentoML service against a real server: `bentoml serve` on 127.0.0.1, a free port.

One server for the module (started once, ~5 s), stopped by PID with its
children in the finalizer; the last test stops it itself and checks that
nothing is left. Every HTTP call has a timeout, so a hung server fails a test
instead of hanging the suite. Serving's parts without a server (schemas, the
batcher, `tk serve`'s command, `tk export --bento`) are in tests/test_serving_parts.py.
"""

from __future__ import annotations

import http.client
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving import schemas
from serving.process import ServerProcess
from toolkit.runtime.predictor import Predictor

MAX_BODY = 200_000  # small, so the 413 tests send little


# ---- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(churn_model):
    return churn_model[1]


@pytest.fixture(scope="module")
def rows(churn_json_rows):
    return churn_json_rows


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("bentoml-home")
    srv = ServerProcess(
        model_dir,
        env={"BENTOML_HOME": str(home), "TK_MAX_BODY_BYTES": str(MAX_BODY), "TK_MAX_LATENCY_MS": "5000"},
        start_timeout=60,
        stop_timeout=10,
    )
    srv.start()
    yield srv
    srv.stop()


def call(server, path, body=None, method="POST", headers=None, raw=False, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, (payload if raw else json.loads(payload))
    finally:
        conn.close()


def same(a, b):
    """Predictions equal: labels exactly, probabilities to float32 precision."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k]["label"] == y[k]["label"]
            assert x[k]["probabilities"] == pytest.approx(y[k]["probabilities"], rel=1e-6, abs=1e-7)


# ---- predictions ---------------------------------------------------------------------


def test_predictions_equal_the_predictors(server, model_dir, rows):
    expected = Predictor(model_dir).predict(rows)
    for path in ("/predict", "/predict_bulk"):
        status, got = call(server, path, {"rows": rows})
        assert status == 200, got
        same(got, expected)
    assert {r["churn"]["label"] for r in expected} == {"No", "Yes"}


def test_200_concurrent_single_rows_from_16_threads(server, rows):
    serial = [call(server, "/predict", {"rows": [r]})[1][0] for r in rows[:20]]
    jobs = [i % 20 for i in range(200)]
    random.Random(0).shuffle(jobs)

    def one(i):
        return i, call(server, "/predict", {"rows": [rows[i]]})

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, jobs))
    assert [status for _, (status, _) in answers] == [200] * 200
    for i, (_, body) in answers:
        same(body, [serial[i]])


def test_numbers_and_booleans_in_string_fields_mean_what_training_read(server, rows):
    row = dict(rows[1])  # female etc. are "0"/"1" strings in the CSV
    as_numbers = {**row, "female": int(row["female"]), "partner": float(row["partner"])}
    assert call(server, "/predict", {"rows": [as_numbers]}) == call(server, "/predict", {"rows": [row]})


def test_null_is_a_missing_value_and_an_empty_list_is_fine(server, rows):
    row = {c: None for c in rows[0]}
    status, body = call(server, "/predict", {"rows": [row]})
    assert status == 200 and body[0]["churn"]["label"] in ("No", "Yes")
    assert call(server, "/predict", {"rows": []}) == (200, [])
    assert call(server, "/predict_bulk", {"rows": []}) == (200, [])


# ---- bad requests ----------------------------------------------------------------------


def _bad(rows, edit):
    rs = [dict(r) for r in rows[:5]]
    edit(rs)
    return {"rows": rs}


BAD = {
    "missing field": (lambda rs: rs[3].pop("tenure"), "rows[3].tenure", "field required"),
    "wrong type": (lambda rs: rs[0].update(tenure="three"), "rows[0].tenure", "expected a number"),
    "numeric string for a number": (
        lambda rs: rs[2].update(monthly_charges="29.85"),
        "rows[2].monthly_charges",
        "number",
    ),
    "boolean for a number": (lambda rs: rs[1].update(tenure=True), "rows[1].tenure", "number"),
    "object for a string": (lambda rs: rs[4].update(contract={"a": 1}), "rows[4].contract", "expected a string"),
    "list for a string": (lambda rs: rs[0].update(contract=["x"]), "rows[0].contract", "expected a string"),
    "unknown field": (lambda rs: rs[2].update(tenur=3), "rows[2].tenur", "unknown field"),
    "row not an object": (lambda rs: rs.__setitem__(1, [1, 2]), "rows[1]", "expected an object"),
}


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("path", ["/predict", "/predict_bulk"])
def test_a_bad_row_is_a_400_naming_the_field(server, rows, name, path):
    edit, where, words = BAD[name]
    status, body = call(server, path, _bad(rows, edit))
    assert status == 400, body
    assert body["error"].startswith(where + ":"), body["error"]
    assert words in body["error"]
    assert any(d["loc"] == where for d in body["detail"])


@pytest.mark.parametrize(
    "body, where, words",
    [
        (b'{"rows": [{"tenure": 3,', "(body)", "malformed JSON"),
        (b'{"rows": [{"tenure": NaN}]}', "rows[0].tenure", "finite"),
        (b'{"rows": [{"tenure": 1e999}]}', "rows[0].tenure", "finite"),
        (b'{"rows": {"tenure": 3}}', "rows", "list"),
        (b'{"row": []}', "rows", "field required"),
        (b"[]", "(body)", "object"),
        (b'"rows"', "(body)", "object"),
        (b"", "rows", "field required"),
    ],
)
def test_malformed_bodies_are_400s(server, body, where, words):
    status, answer = call(server, "/predict", body)
    assert status == 400, answer
    assert any(d["loc"] == where and words in d["msg"] for d in answer["detail"]), answer


def test_a_body_over_the_limit_is_413(server, rows):
    big = {"rows": rows * (MAX_BODY // len(json.dumps(rows)) + 2)}
    status, body = call(server, "/predict_bulk", big)
    assert status == 413 and "TK_MAX_BODY_BYTES" in body["error"]
    # the same by chunked transfer (no Content-Length): counted as it arrives
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    data = json.dumps(big).encode()
    conn.request(
        "POST",
        "/predict_bulk",
        body=iter([data[i : i + 65536] for i in range(0, len(data), 65536)]),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    assert conn.getresponse().status == 413
    conn.close()


def test_media_types(server, rows):
    """JSON only: form-encoded and text/plain bodies need no CORS preflight, so any web page could send them."""
    body = json.dumps({"rows": rows[:2]}).encode()
    for ctype in (
        "multipart/form-data; boundary=x",
        "application/vnd.bentoml+pickle",
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/plain; charset=utf-8",
        "",
    ):
        status, answer = call(server, "/predict", body, headers={"Content-Type": ctype})
        assert status == 415 and "application/json" in answer["error"], (ctype, answer)
    for ctype in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        assert call(server, "/predict", body, headers={"Content-Type": ctype})[0] == 200, ctype


def test_bad_requests_do_not_fail_the_good_ones_batched_with_them(server, rows):
    good = [(i, {"rows": [rows[i]]}) for i in range(20)]
    bad = [(-1, _bad(rows, BAD[name][0])) for name in BAD] * 3
    jobs = good * 4 + bad
    random.Random(1).shuffle(jobs)
    expected = {i: call(server, "/predict", b)[1] for i, b in good}

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda job: (job[0], call(server, "/predict", job[1])), jobs))
    for i, (status, body) in answers:
        if i < 0:
            assert status == 400
        else:
            assert status == 200, body
            same(body, expected[i])


def test_no_client_mistake_gives_a_5xx(server, rows):
    rng = random.Random(2)
    good = json.dumps({"rows": rows[:3]}).encode()
    bodies = [good[: rng.randrange(len(good))] for _ in range(25)]  # truncated
    bodies += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(25)]  # noise
    bodies += [
        json.dumps(v).encode()
        for v in (
            None,
            1,
            1.5,
            True,
            {},
            {"rows": None},
            {"rows": [None]},
            {"rows": [{}]},
            {"rows": [[]]},
            {"rows": "x" * 1000},
            {"rows": [{"tenure": {"$gt": 1}}]},
            {"rows": [rows[0]] * 300},
        )
    ]
    bodies.append(b"[" * 5000 + b"]" * 5000)  # deep nesting
    for body in bodies:
        for path in ("/predict", "/predict_bulk"):
            status, _ = call(server, path, body, raw=True)
            assert status < 500, (path, body[:80], status)
    assert call(server, "/predict", good)[0] == 200  # and it still answers


# ---- metadata ------------------------------------------------------------------------


def test_metadata(server, model_dir):
    p = Predictor(model_dir)
    status, meta = call(server, "/metadata", method="GET")
    assert status == 200
    assert meta["inputs"] == {c: "number" if t == schemas.FLOAT else "string" for c, t in p.inputs.items()}
    assert meta["outputs"] == p.outputs == ["churn::label", "churn::probabilities"]
    assert meta["classes"] == {"churn": ["No", "Yes"]}
    assert meta["versions"]["tk"] == p.metadata["tk.version"]
    assert {"onnxruntime", "bentoml", "trained_with"} <= meta["versions"].keys()
    assert meta["metrics"]["churn"]["roc_auc"] > 0.8
    assert meta["serving"]["max_body_bytes"] == MAX_BODY and meta["serving"]["unknown_fields"] == "forbid"
    assert meta["serving"]["max_rows"] == 10_000 and meta["serving"]["authentication"] == "none"
    assert meta["model"] == model_dir.name  # a name, never the absolute path
    assert str(model_dir) not in json.dumps(meta) and str(model_dir.parent) not in json.dumps(meta)
    assert call(server, "/readyz", method="GET", raw=True)[0] == 200


def test_explain_answers_like_the_predictor_is_limited_alike_and_typed_in_openapi(server, model_dir, rows):
    p = Predictor(model_dir)
    status, got = call(server, "/explain", {"rows": rows[:5]})
    assert status == 200 and len(got) == 5
    want = p.explain(rows[:5])
    for g, w in zip(got, want):
        assert g["churn"].keys() == w["churn"].keys() and all(
            abs(g["churn"][k] - v) < 1e-6 for k, v in w["churn"].items()
        )
    status, body = call(server, "/explain", {"rows": [rows[0], {**rows[1], "tenure": "abc"}]})
    assert status == 400 and "rows[1].tenure" in json.dumps(body)
    status, meta = call(server, "/metadata", method="GET")
    assert meta["explain"]["players"] == list(want[0]["churn"]) and "churn" in meta["explain"]["baseline"]
    status, docs = call(server, "/docs.json", method="GET")
    schema = json.dumps(docs["paths"]["/explain"])
    assert status == 200 and "Explanation" in schema  # the response is typed: {output: {input: number}}


# ---- servers of their own: BentoML's batching, CUDA -------------------------------------


def test_bentoml_dispatcher_mode_answers_alike(model_dir, rows, tmp_path):
    """TK_BATCHING=bentoml: BentoML's own batchable API, same answers, same 400s."""
    env = {"BENTOML_HOME": str(tmp_path / "home"), "TK_BATCHING": "bentoml", "TK_MAX_LATENCY_MS": "5000"}
    with ServerProcess(model_dir, env=env, start_timeout=60) as srv:
        expected = Predictor(model_dir).predict(rows[:20])
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda r: call(srv, "/predict", {"rows": [r]}), rows[:20]))
        assert [a[0] for a in answers] == [200] * 20
        same([a[1][0] for a in answers], expected)
        status, body = call(srv, "/predict", _bad(rows, BAD["missing field"][0]))
        assert status == 400 and body["error"].startswith("rows[3].tenure:")
        assert call(srv, "/metadata", method="GET")[1]["serving"]["batching"] == "bentoml"
    assert not srv.alive()


def _has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


@pytest.mark.skipif(
    not _has_cuda(), reason="onnxruntime here has no CUDAExecutionProvider (install onnxruntime-gpu on a GPU machine)"
)
def test_cuda_device_when_present(model_dir, rows, tmp_path):
    """TK_DEVICE=cuda: onnxruntime's CUDA provider; skipped where onnxruntime has none."""
    env = {"BENTOML_HOME": str(tmp_path / "home"), "TK_DEVICE": "cuda"}
    with ServerProcess(model_dir, env=env, start_timeout=120) as srv:
        status, got = call(srv, "/predict", {"rows": rows})
        assert status == 200
        assert call(srv, "/metadata", method="GET")[1]["serving"]["device"] == "cuda"
    expected = Predictor(model_dir, device="cpu").predict(rows)
    assert [g["churn"]["label"] for g in got] == [e["churn"]["label"] for e in expected]
    for g, e in zip(got, expected):
        assert g["churn"]["probabilities"] == pytest.approx(e["churn"]["probabilities"], abs=1e-4)


# ---- last: the server stops cleanly -------------------------------------------------


def test_server_stops_cleanly(server):
    pids = server.all_pids()
    assert len(pids) >= 2  # the supervisor and at least one worker
    code = server.stop()
    assert code is not None
    assert not server.alive(), f"left running: {server.alive()}"
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=2).request("GET", "/readyz")
