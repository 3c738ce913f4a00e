"""Dates, vectors and time series on the edge: the same model.onnx in onnxruntime-node and
onnxruntime-web (wasm) under Node.js gives Python onnxruntime's answers, on ordinary rows and on
each type's hostile values (Feb 30, year 0 and 9999, a leap second, 1e30 seconds, NaN inside a
list, lists of the wrong length, empty strings). Skips as tests/test_edge_node.py does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_edge_node import BACKENDS, assert_same, flags_for, json_column, node_bin, run_predict, write_json  # noqa: F401


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory):
    from toolkit import train
    from toolkit.common import log
    from toolkit.export.parity import concat_columns
    from toolkit.features import columns as prepare

    log.quiet = True
    rng = np.random.default_rng(0)
    n = 300
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2 * 365 * 86400, n), "s")
    vec = rng.normal(size=(n, 3))
    series = [rng.normal(size=k) for k in rng.integers(1, 9, n)]
    df = pd.DataFrame(
        {
            "when": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "stamp": [str(int(t.timestamp())) for t in when],
            "v": [" ".join(f"{x:.3f}" for x in r) for r in vec],
            "s": [",".join(f"{x:.3f}" for x in s) for s in series],
            "y": np.where((when.day_of_week >= 5) ^ (vec[:, 0] > 0), "yes", "no"),
        }
    )
    cfg = {
        "input_features": [
            {"name": "when", "type": "date"},
            {"name": "stamp", "type": "date", "preprocessing": {"format": "epoch"}},
            {"name": "v", "type": "vector"},
            {"name": "s", "type": "timeseries", "preprocessing": {"delimiter": ","}, "encoder": {"type": "gru"}},
        ],
        "output_features": [{"name": "y", "type": "binary"}],
        "trainer": {"epochs": 3},
    }
    out = tmp_path_factory.mktemp("edge_dates") / "m"
    model = train(cfg, df, output=out)
    pools = {f.config.source: f.edge_values() for f in model.inputs}  # every edge value of every input
    longest = max(map(len, pools.values()))
    edges = {c: np.array([p[i % len(p)] for i in range(longest)], dtype=object) for c, p in pools.items()}
    columns = concat_columns(prepare.input_columns(model.inputs, df.head(40), "df"), edges)
    rows = tmp_path_factory.mktemp("edge_dates_rows") / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in columns.items()})
    return out / "model.onnx", rows, columns


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_node_and_wasm_equal_python_onnxruntime(node_bin, model_and_rows, backend):
    import onnxruntime as ort

    path, rows, columns = model_and_rows
    # the graph itself in Python onnxruntime: tk's Predictor refuses a malformed vector before the graph,
    # and what is compared here is how each runtime's graph reads it
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # the answers: the explain branch's attributions are off in a plain session (tests/test_explain.py)
    names = [o.name for o in session.get_outputs() if not o.name.endswith("attributions")]
    want = dict(zip(names, session.run(names, columns)))
    got = run_predict(node_bin, path, rows, *flags_for(backend))
    assert len(got["y::label"]) == len(columns["when"]) > 60
    for hostile in ("2024-02-30 00:00:00", "0000-01-01 00:00:00", "9999-12-31 23:59:59", "2016-12-31 23:59:60"):
        assert hostile in columns["when"].tolist()
    assert "1e30" in columns["stamp"].tolist() and any("nan" in v for v in columns["v"].tolist())
    assert_same(got, want, backend)
