"""Vector and timeseries columns that hold lists (Parquet list columns, JSON arrays), not strings:
init-config types them, training and prediction read them as the delimited string the graph parses,
and at prediction a row that is not a list of the right length is an error naming the row (the
Predictor's, `tk predict`'s and the server's request schema), never a silent missing value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from toolkit import train
from toolkit.common import log
from toolkit.config import guess as infer
from toolkit.data.number_lists import SERIES_MAX_CHARS, ListColumn, python_numbers
from toolkit.errors import TkError
from toolkit.runtime.predictor import Predictor, PredictorError


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, 3))
    series = [rng.normal(size=k).round(4) for k in rng.integers(1, 7, n)]
    y = emb @ np.array([1.0, -1.0, 0.5]) + np.array([s[-1] for s in series])
    return pd.DataFrame({"emb": list(emb), "series": series, "y": y})


def test_join_writes_list_cells_exactly_and_leaves_the_rest():
    spec = ListColumn(",", 3)
    cells = np.empty(5, dtype=object)
    cells[:] = [np.array([0.1, -2.0, 1e-30]), [1, 2, 3], None, "4,5,6", (1.5, float("nan"), 2)]
    joined = spec.join(cells)
    assert joined.tolist() == ["0.1,-2.0,1e-30", "1,2,3", None, "4,5,6", "1.5,nan,2"]
    assert python_numbers(joined[0], ",") == [float(np.float32(v)) for v in (0.1, -2.0, 1e-30)]
    assert spec.join(np.arange(6.0).reshape(2, 3)).tolist() == ["0,1,2", "3,4,5"]  # numpy rows: joined by pyarrow
    strings = np.array(["1,2,3", "", "1.5,nan,2"], dtype=object)
    assert spec.first_bad(strings) == (
        2,
        "expected a list of 3 numbers separated by ',' (a string or a JSON array), got '1.5,nan,2'",
    )
    assert ListColumn().first_bad(np.array(["1 2", "3"], dtype=object)) is None


def test_numpy_cells_joined_in_arrow_read_as_the_python_join():
    """Parquet's cells (numpy arrays) take pyarrow's join; a number reads back as the same float64."""
    rng = np.random.default_rng(1)
    cells = np.empty(300, dtype=object)
    for i in range(300):
        cells[i] = rng.normal(size=5) * 10.0 ** rng.integers(-40, 40)
    cells[:6] = [
        None,
        np.array([1.5, np.nan, np.inf, -0.0]),
        np.array([], dtype=float),
        np.arange(3),
        np.array([0.1, 2.5], dtype=np.float32),
        np.array([1e300, -1e-300]),
    ]
    spec = ListColumn(",")
    fast = spec.join(cells)
    slow = spec.join([None if c is None else c.tolist() for c in cells])  # lists: the Python path
    assert fast[0] is None and slow[0] is None and fast[2] == slow[2] == ""
    for a, b in zip(fast[1:], slow[1:]):
        np.testing.assert_array_equal(
            np.array(a.split(",") if a else [], dtype=np.float64), np.array(b.split(",") if b else [], dtype=np.float64)
        )


def test_edge_cells_the_review_found():
    """float32 values near 1e-5 (Arrow writes them as long decimals), numbers beyond float32 written with
    3-digit exponents, huge ints, strings inside a list, rows longer than the graph reads, a numpy
    array in a string column, and a column read by both a vector and a series."""
    from toolkit.data import coerce
    from toolkit.data.number_lists import by_column

    tiny = np.empty(2, dtype=object)
    tiny[0], tiny[1] = np.array([3e-5, 1.5e-5, 7e-6], dtype=np.float32), np.array([1e-300, 1e300, 10.0])
    spec = ListColumn(None, 3)
    joined = spec.join(tiny)
    assert spec.first_bad(joined) is None, joined
    assert python_numbers(joined[0], None) == [float(np.float32(v)) for v in (3e-5, 1.5e-5, 7e-6)]
    assert python_numbers(joined[1], None)[:2] == [0.0, float("inf")]  # what float32 makes of them
    assert spec.first_bad(spec.join([[10**400, -(10**30), 2]])) is None
    assert spec.first_bad(spec.join([["1 2", 3]])) is not None  # a string in a list is not a number
    vector = ListColumn(None, 3, max_chars=192)
    assert "characters" in vector.first_bad(np.array(["0.1 0.2 0.3" + " " * 1000], dtype=object))[1]
    with pytest.raises(TypeError, match="ndarray"):
        coerce.to_strings(np.array([np.array([1.0, 2.0]), "x"], dtype=object))
    assert by_column([("c", ListColumn()), ("c", ListColumn(",", 3)), ("d", None)]) == {"c": ListColumn(",", 3)}
    assert by_column([("c", ListColumn(",", 3)), ("c", ListColumn())]) == {"c": ListColumn(",", 3)}


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(list("0123456789 .,|+-eE\t\u00a0x") + ["nan", "1e5", "12"]), max_size=12).map("".join),
    st.sampled_from([None, ",", "|"]),
    st.integers(1, 4),
)
def test_first_bad_reads_a_row_as_python_numbers_does(s, delimiter, size):
    """The check before the graph (one regular expression per row) agrees with the graph's Python twin."""
    numbers = python_numbers(s, delimiter)
    bad = ListColumn(delimiter, size).first_bad(np.array([s], dtype=object))
    if not s.strip():
        assert bad is None
    else:
        assert (bad is None) == (numbers is not None and len(numbers) == size), (s, numbers, bad)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_list_columns_are_typed_trained_and_predicted(tmp_path, suffix):
    log.quiet = True
    df = _frame()
    path = tmp_path / f"d{suffix}"
    df.to_parquet(path) if suffix == ".parquet" else df.to_json(path, orient="records", lines=True)
    text = infer.config_yaml(path, ["y"])
    assert "{name: emb, type: vector, preprocessing: {size: 3}}" in text
    assert "{name: series, type: timeseries, preprocessing: {max_length: 6}}" in text

    cfg = {
        "input_features": [{"name": "emb", "type": "vector"}, {"name": "series", "type": "timeseries"}],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 20},
    }
    model = train(cfg, path, output=tmp_path / "m")
    assert model.stats["metrics"]["validation"]["y"]["r2"] > 0.6
    assert model.inputs[0].size_ == 3

    # the same rows as strings give the same answers as the list cells
    as_strings = pd.DataFrame(
        {
            "emb": [" ".join(map(repr, map(float, v))) for v in df["emb"]],
            "series": [" ".join(map(repr, map(float, s))) for s in df["series"]],
        }
    )
    want = model.predict(as_strings)["y::value"].to_numpy()
    got = model.predict(df[["emb", "series"]])["y::value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    torch = model.predict(df[["emb", "series"]], engine="torch")["y::value"].to_numpy()
    np.testing.assert_allclose(torch, want, rtol=1e-4, atol=1e-4)

    bad = df[["emb", "series"]].copy()
    bad.at[7, "emb"] = [1.0, 2.0]
    with pytest.raises(TkError, match=r"row 8: column 'emb': expected a list of 3 numbers .* got 2 numbers"):
        model.predict(bad)

    if suffix == ".parquet":  # streamed in chunks of 64 rows: the same fitted features as in memory
        fixed = df.assign(split=np.arange(len(df)) % 10 // 7 + (np.arange(len(df)) % 10 == 9))
        fixed.to_parquet(tmp_path / "fixed.parquet")
        cfg_fixed = {**cfg, "preprocessing": {"split": {"type": "fixed", "column": "split"}}, "trainer": {"epochs": 1}}
        states = [
            [f.state() for f in train(cfg_fixed, tmp_path / "fixed.parquet", stream=stream, chunk_rows=64).inputs]
            for stream in (False, True)
        ]
        for in_memory, streamed in zip(*states):
            assert in_memory.keys() == streamed.keys()
            for key, value in in_memory.items():
                np.testing.assert_allclose(streamed[key], value, rtol=1e-6, err_msg=key)

    predictor = Predictor(tmp_path / "m" / "model.onnx")
    assert predictor.list_columns == {
        "emb": ListColumn(None, 3, max_chars=1000),
        "series": ListColumn(None, None, SERIES_MAX_CHARS),
    }
    one = predictor.run([{"emb": [0.1, 0.2, 0.3], "series": [1, 2.5]}])["y::value"]
    same = predictor.run({"emb": ["0.1 0.2 0.3"], "series": ["1 2.5"]})["y::value"]
    assert one.tolist() == same.tolist() and math.isfinite(one[0])
    missing = predictor.run([{"emb": None, "series": None}])["y::value"]
    assert math.isfinite(missing[0])
    with pytest.raises(PredictorError, match=r"rows\[1\]\.series: expected a list of numbers .* got 'a b'"):
        predictor.run([{"emb": [1, 2, 3], "series": [1]}, {"emb": [1, 2, 3], "series": "a b"}])


def test_server_takes_arrays_and_answers_a_bad_list_with_a_400_of_its_own(tmp_path):
    """A real `bentoml serve` on 127.0.0.1: arrays and strings answer as the Predictor does; a wrong
    list (as an array or as a string) is a 400 naming the row, and the good request beside it is answered."""
    import http.client
    import json
    from concurrent.futures import ThreadPoolExecutor

    from serving.process import ServerProcess

    log.quiet = True
    cfg = {
        "input_features": [{"name": "emb", "type": "vector"}, {"name": "series", "type": "timeseries"}],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 3},
    }
    train(cfg, _frame(), output=tmp_path / "m")
    good = [{"emb": [0.1, 0.2, 0.3], "series": [1, 2.5]}, {"emb": "1 2 3", "series": None}]
    want = Predictor(tmp_path / "m" / "model.onnx").predict(good)

    def post(body):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
        try:
            conn.request(
                "POST", "/predict", body=json.dumps({"rows": body}), headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    srv = ServerProcess(
        tmp_path / "m", env={"BENTOML_HOME": str(tmp_path / "bentoml")}, start_timeout=60, stop_timeout=10
    )
    srv.start()
    try:
        status, got = post(good)
        assert status == 200 and [r["y"]["value"] for r in got] == pytest.approx(
            [r["y"]["value"] for r in want], rel=1e-6
        )
        bad_rows = [
            [good[0], {"emb": [1, 2], "series": [1]}],
            [good[0], {"emb": "1 2 x", "series": "1"}],
            [{"emb": [1, 2, 3], "series": "a b"}],
        ]
        with ThreadPoolExecutor(4) as pool:  # sent together: batched with a good request
            answers = list(pool.map(post, bad_rows + [good]))
        for (status, body), where in zip(answers[:3], ["rows[1].emb", "rows[1].emb", "rows[0].series"]):
            assert status == 400 and where in json.dumps(body), body
        assert "got 2 numbers" in json.dumps(answers[0][1])
        assert answers[3][0] == 200 and [r["y"]["value"] for r in answers[3][1]] == pytest.approx(
            [r["y"]["value"] for r in want], rel=1e-6
        )
    finally:
        srv.stop()
    assert not srv.alive()


def test_server_request_schema_takes_arrays_of_the_right_length():
    from serving.schemas import row_model

    Row = row_model(
        {"emb": "tensor(string)", "series": "tensor(string)", "x": "tensor(float)"},
        lists={"emb": ListColumn(",", 3), "series": ListColumn()},
    )
    ok = Row.model_validate({"emb": [1, 2.5, -3], "series": list(range(1000)), "x": 1.0})
    assert ok.emb == [1, 2.5, -3]
    assert Row.model_validate({"emb": [10**400, 1e-300, 0], "series": [], "x": 0}).emb[0] == 10**400  # no OverflowError
    assert Row.model_validate({"emb": "1,2,3", "series": None, "x": None}).emb == "1,2,3"
    for row, where in [
        ({"emb": [1, 2], "series": "1", "x": 0}, "emb"),
        ({"emb": [1, 2, float("nan")], "series": "1", "x": 0}, "emb"),
        ({"emb": "1,2,3", "series": list(range(1001)), "x": 0}, "series"),
        ({"emb": {"a": 1}, "series": "1", "x": 0}, "emb"),
        ({"emb": "1,2", "series": "1", "x": 0}, "emb"),
        ({"emb": [], "series": "1", "x": 0}, "emb"),
        ({"emb": [1, 2, True], "series": "1", "x": 0}, "emb"),
        ({"emb": "1,2,3", "series": "1 x", "x": 0}, "series"),
    ]:
        with pytest.raises(ValidationError) as e:
            Row.model_validate(row)
        assert {err["loc"][0] for err in e.value.errors()} == {where}
