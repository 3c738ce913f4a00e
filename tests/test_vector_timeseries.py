"""Vector and timeseries inputs: ONNX list parsing == the Python twin, transforms == oracles (hypothesis),
hostile values, config errors, chunked fit, and trains through toolkit.api.train with model.onnx parity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import train
from toolkit.common import log
from toolkit.config.schema import validate_config
from toolkit.data.number_lists import python_numbers
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES
from toolkit.features.number_list_onnx import cut_chars, parse_lists, python_window
from toolkit.features.pregraph import Preprocessor

VECTORS = np.array(["1 2 3", "4 5 6", "", "1 2", "a b c", " 7  8 9 ", "1e99 0 0", "0.5 -1 2"], dtype=object)
SERIES = np.array(["1 2 3", "4 5", "", "nan 1", "7", " 7  8 9 10 11 ", "1e99 0", "0.5 -1 2 2 2 2 2 2"], dtype=object)


def make(type_: str, preprocessing=None, encoder=None):
    block = {"name": "x", "type": type_}
    if preprocessing:
        block["preprocessing"] = preprocessing
    if encoder:
        block["encoder"] = encoder
    cfg = validate_config({"input_features": [block], "output_features": [{"name": "y", "type": "binary"}]})
    return INPUT_FEATURES[type_](cfg.input_features[0])


def run(f, values) -> np.ndarray:
    return Preprocessor([f]).transform({"x": np.array(values, dtype=object)})["x"]


def roundtrip(f):
    return type(f).from_state(f.config, json.loads(json.dumps(f.state())))


#: rows longer than the cut (1000 characters for up to 15 numbers): padded with spaces, or many numbers
long_rows = st.builds(
    lambda k, pad: " ".join(["1.5"] * k) + " " * pad + " 2", st.integers(1, 600), st.sampled_from([0, 990, 2000])
)

numbers = (
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:g}")
    | st.integers(-(10**6), 10**6).map(str)
    | st.sampled_from(
        [
            "1e99",
            "-1e99",
            "1e-99",
            ".5",
            "5.",
            "+3",
            "1E5",
            "nan",
            "inf",
            "1_0",
            "",
            "x",
            "0x1",
            "１",
            "1" * 21,
            "1.5e300",
        ]
    )
)
spaces = st.sampled_from(["", " ", "  ", "\t", "\u00a0"])


def listed(delimiter):
    sep = st.sampled_from([" ", "  ", "\t "]) if delimiter is None else spaces.map(lambda s: s + delimiter + s)
    return st.builds(
        lambda ns, s, lead, trail: lead + s.join(ns) + trail, st.lists(numbers, max_size=6), sep, spaces, spaces
    )


lists = st.sampled_from([None, ",", "|"]).flatmap(
    lambda d: st.tuples(
        st.just(d),
        st.lists(
            listed(d)
            | st.text(max_size=12)
            | long_rows.map(lambda r: r if d is None else r.replace(" 2", d + "2").replace("1.5 ", "1.5" + d)),
            min_size=1,
            max_size=20,
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(lists)
def test_onnx_list_parse_equals_python_twin(case):
    delimiter, values = case
    ((got, present, count),) = list(parse_lists(np.array(values, dtype=object), delimiter))
    for i, s in enumerate(values):
        want = python_numbers(s, delimiter)
        if want is None:
            assert count[i] == 0 and not present[i].any(), (s, got[i])
        else:
            assert count[i] == len(want) and present[i, : len(want)].all() and not present[i, len(want) :].any(), s
            np.testing.assert_array_equal(got[i, : len(want)], np.array(want, dtype=np.float32), err_msg=s)


def vector_oracle(f, raw) -> np.ndarray:
    """Per row: the numbers (or the means when not a list of `size`), clamped, z-scored; the flag last."""
    s, d = f.state(), f.config.preprocessing.delimiter
    out = []
    for r in raw:
        v = python_numbers(r, d)
        ok = v is not None and len(v) == s["size"] and len(r) <= cut_chars(s["size"])
        x = np.array(v if ok else s["fill"], dtype=np.float32)
        x = np.minimum(np.maximum(x, np.float32(s["min"])), np.float32(s["max"]))
        x = (x - np.array(s["shift"], dtype=np.float32)) / np.array(s["scale"], dtype=np.float32)
        out.append(list(x) + [0.0 if ok else 1.0])
    return np.array(out, dtype=np.float64)


def series_oracle(f, raw) -> np.ndarray:
    """Per row: the first L numbers clamped and z-scored, 0 after; then the mask."""
    s, d, length = f.state(), f.config.preprocessing.delimiter, f.state()["max_length"]
    out = []
    for r in raw:
        v = python_window(r, d, length) or []
        x = np.clip(np.array(v, dtype=np.float32), np.float32(s["min"]), np.float32(s["max"]))
        x = (x - np.float32(s["shift"])) / np.float32(s["scale"])
        pad = [0.0] * (length - len(v))
        out.append(list(x) + pad + [1.0] * len(v) + pad)
    return np.array(out, dtype=np.float64)


@settings(max_examples=40, deadline=None)
@given(lists)
def test_vector_transform_equals_oracle(case):
    delimiter, values = case
    train_values = VECTORS if delimiter is None else np.array([v.replace(" ", delimiter) for v in VECTORS], object)
    for pre in ({}, {"size": 2}, {"normalization": "none"}):
        f = roundtrip(make("vector", {"delimiter": delimiter, **pre}).fit(train_values))
        np.testing.assert_allclose(run(f, values), vector_oracle(f, values), rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(lists)
def test_timeseries_transform_equals_oracle(case):
    delimiter, values = case
    train_values = SERIES if delimiter is None else np.array([v.replace(" ", delimiter) for v in SERIES], object)
    for pre in ({}, {"max_length": 3}):
        f = roundtrip(make("timeseries", {"delimiter": delimiter, **pre}).fit(train_values))
        np.testing.assert_allclose(run(f, values), series_oracle(f, values), rtol=1e-6, atol=1e-6)


def test_vector_fit_picks_the_common_length_and_counts_the_rest(capsys):
    log.quiet = False
    f = make("vector").fit(VECTORS)
    s = f.state()
    assert s["size"] == 3 and s["wrong"] == 2  # "1 2" and "a b c"; "" is plainly missing
    assert s["min"] == [0.5, -1.0, 0.0] and s["max"] == [7.0, 8.0, 9.0]  # 1e99 is inf in float32: left out
    assert "2 value(s) are not lists of 3 numbers" in capsys.readouterr().err
    out = run(f, ["1 2", "", "1 2 3 4", "nan 2 3"])
    assert (out[:, -1] == 1).all() and np.allclose(out[:, :-1], 0)  # the means, z-scored


@pytest.mark.parametrize("type_, column", [("vector", VECTORS), ("timeseries", SERIES)])
def test_fit_in_chunks_equals_fit_and_edge_values_are_finite(type_, column):
    whole = make(type_).fit(column)
    acc = make(type_).accumulator()
    for part in np.array_split(column, 3):
        acc.update(part)
    acc.end_pass()
    assert acc.finish().state() == whole.state() == roundtrip(whole).state()
    edges = whole.edge_values()
    out = run(whole, edges)
    assert np.isfinite(out).all() and len(edges) >= 10 and out.shape[0] == len(edges)
    assert run(whole, []).shape[0] == 0


def test_timeseries_window_and_missing():
    f = make("timeseries").fit(SERIES)
    assert f.state()["max_length"] == 8 and f.state()["bad"] == 1  # "nan 1"
    f3 = make("timeseries", {"max_length": 3}).fit(SERIES)
    out = run(f3, ["1 2 3 4 5", "", "nan 1", "5"])
    assert out[0, 3:].tolist() == [1, 1, 1] and out[1].tolist() == [0] * 6 and out[2].tolist() == [0] * 6
    assert out[3, 3:].tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    "block, where",
    [
        ({"type": "vector", "preprocessing": {"delimiter": "-"}}, "delimiter"),
        ({"type": "vector", "preprocessing": {"size": 0}}, "size"),
        ({"type": "timeseries", "preprocessing": {"max_length": 5000}}, "max_length"),
        ({"type": "timeseries", "encoder": {"type": "lstm"}}, "encoder"),
    ],
)
def test_config_errors_name_the_yaml_path(block, where):
    with pytest.raises(TkError) as e:
        validate_config(
            {"input_features": [{"name": "x", **block}], "output_features": [{"name": "y", "type": "binary"}]}
        )
    assert "input_features" in str(e.value) and where in str(e.value)


def test_no_list_in_training_is_one_error():
    with pytest.raises(TkError, match="no row of the training split is a list of"):
        make("vector").fit(np.array(["a", ""], dtype=object))
    with pytest.raises(TkError, match="no row of the training split is a list of numbers"):
        make("timeseries").fit(np.array(["a b", ""], dtype=object))


def _table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vec = rng.normal(size=(n, 4))
    lengths = rng.integers(1, 12, n)
    series = [rng.normal(size=k) + rng.normal() for k in lengths]
    y = vec @ np.array([1.0, -2.0, 0.5, 0.0]) + 2 * np.array([s[-1] for s in series])
    df = pd.DataFrame(
        {
            "v": [",".join(f"{x:.4f}" for x in row) for row in vec],
            "s": [" ".join(f"{x:.4f}" for x in s) for s in series],
            "y": y,
        }
    )
    df.loc[:2, "v"] = ["", "1,2", "nan,1,2,3"]
    df.loc[:1, "s"] = ["", "x y"]
    return df


@pytest.mark.parametrize(
    "encoder",
    [{"type": "summary"}, {"type": "cnn", "kernel_sizes": [2, 3]}, {"type": "gru"}, {"type": "transformer", "dim": 8}],
)
def test_train_end_to_end_with_model_onnx_parity(tmp_path, encoder):
    """y depends on the vector's components and the series' last value; save checks model.onnx parity."""
    log.quiet = True
    cfg = {
        "input_features": [
            {"name": "v", "type": "vector", "preprocessing": {"delimiter": ","}},
            {"name": "s", "type": "timeseries", "encoder": encoder},
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 30},
    }
    model = train(cfg, _table(), output=tmp_path / "m")
    assert (tmp_path / "m" / "model.onnx").exists()
    r2 = model.stats["metrics"]["validation"]["y"]["r2"]
    assert r2 > (0.75 if encoder["type"] == "summary" else 0.5), r2
    out = model.predict(
        pd.DataFrame({"v": ["", "1,2,3,4", "1e99,0,0,-1e99", None], "s": ["", "1e99", "1 " * 900, None]})
    )
    assert np.isfinite(out["y::value"]).all()
    with pytest.raises(TkError, match=r"row 2: column 'v': expected a list of 4 numbers separated by ','.*got 2"):
        model.predict(pd.DataFrame({"v": ["1,2,3,4", "1,2"], "s": ["1", "2"]}))
    with pytest.raises(TkError, match=r"row 1: column 's': expected a list of numbers.*got 'x'"):
        model.predict(pd.DataFrame({"v": ["1,2,3,4"], "s": ["x"]}))


def test_hostile_long_rows_stay_cheap_and_read_as_documented():
    """A 400,000-number row in a batch: the vector reads it as missing, the series keeps its first L values."""
    huge = " ".join(["7"] * 400_000)
    v = make("vector").fit(VECTORS)
    out = run(v, [huge, "1 2 3", "1 2 3" + " " * 5000])
    assert out[0, -1] == 1 and out[1, -1] == 0 and out[2, -1] == 1  # too long to read whole: missing
    assert v.max_chunk_rows == 16384
    t = make("timeseries", {"max_length": 4}).fit(SERIES)
    out = run(t, [huge, "1 2"])
    assert out[0, 4:].tolist() == [1, 1, 1, 1] and out[1, 4:].tolist() == [1, 1, 0, 0]
    assert make("timeseries", {"max_length": 1000}).fit(SERIES).max_chunk_rows == 262


#: this module's richer columns (the date column and every encoder list are tests/test_feature_contract.py's,
#: which runs the same check on its own columns for every built-in type, date included)
CONTRACT_TRAIN = {"vector": VECTORS, "timeseries": SERIES}


@pytest.mark.parametrize("type_", sorted(CONTRACT_TRAIN))
def test_new_types_pass_the_feature_contract(type_):
    """toolkit.testing.check_feature under each encoder, with this type's own training column: hooks, chunked
    fit, JSON state, the graph on edge values and zero rows, encoder width and its ONNX export."""
    from tests.test_feature_contract import ENCODERS
    from toolkit.features import INPUT_FEATURES
    from toolkit.testing import check_feature

    for enc in ENCODERS[type_]:
        check_feature(INPUT_FEATURES[type_], CONTRACT_TRAIN[type_], config={"encoder": enc})
