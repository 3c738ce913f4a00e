"""Every built-in feature type through the same checks: toolkit.testing.check_feature (the public
contract a plugin's type meets too), under every encoder, and the ONNX transform against an oracle.

(The oracles of date, vector and timeseries — Python's datetime.strptime and
list parsing — are in tests/test_date.py and tests/test_vector_timeseries.py.)

fit → state JSON round trip → the ONNX transform (run in onnxruntime) equals
a tiny Python oracle on hypothesis-generated raw values: NaN, ±inf, huge and
negative numbers, empty strings, unseen values, any unicode.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.config import plugins
from toolkit.config.schema import validate_config
from toolkit.data import coerce
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features.binary import lookup
from toolkit.features.category import FIRST_ID, MISSING_ID, UNKNOWN_ID
from toolkit.features.pregraph import Preprocessor
from toolkit.features.set import python_members
from toolkit.features.text_tokens import python_cut, python_tokens
from toolkit.testing import check_feature

#: tk's own types (an installed plugin may register more; tests/test_plugins_contract.py checks those)
BUILTIN_INPUTS = sorted(t for t in INPUT_FEATURES if plugins.owner("input_feature", t) == plugins.BUILTIN)
BUILTIN_OUTPUTS = sorted(t for t in OUTPUT_FEATURES if plugins.owner("output_feature", t) == plugins.BUILTIN)

TRAIN = {
    "number": np.array([1.0, 2.5, np.nan, 10.0, -3.0, 7.0, 2.5, 100.0], dtype=np.float32),
    "binary": np.array(["Yes", "no", "", "YES", "No", "yes", "n", "y"], dtype=object),
    "category": np.array(["DSL", "Fiber optic", "No", "DSL", "", "DSL", "No", "Ünïcödé 日本"], dtype=object),
    "text": np.array(
        [
            "Great sauce, great taste!",
            "Bad... very BAD.<br /><br />",
            "",
            "great value, good value",
            "Ünïcödé café 日本 日本 ΣΊΣΥΦΟΣ",
            "   ",
            "good\u00a0good İstanbul!",
            "x" * 10_000,
        ],
        dtype=object,
    ),
    "set": np.array(
        ["sauce, vegan", "vegan,gift ,  ", "", "sauce", "Ünï,日本", "sauce,,vegan", " gift ", "日本"], dtype=object
    ),
    "date": np.array(
        [
            "2024-01-31",
            "",
            "2023-12-25 08:30",
            "nonsense",
            "2024-02-30",
            "1999-01-01",
            "2020-06-15T12:00:00Z",
            "2021-03-04",
        ],
        dtype=object,
    ),
    "vector": np.array(["1 2 3", "4 5 6", "", "1 2", "a b c", " 7  8 9 ", "1e99 0 0", "0.5 -1 2"], dtype=object),
    "timeseries": np.array(
        ["1 2 3", "4 5", "", "nan 1", "7", " 7  8 9 10 11 ", "1e99 0", "0.5 -1 2 2 2 2 2 2"], dtype=object
    ),
}
ENCODERS = {
    "number": [{"type": "piecewise", "bins": 4}, {"type": "passthrough"}],
    "binary": [None],
    "category": [{"type": "embed"}],
    "text": [
        {"type": "embed"},
        {"type": "embed", "embedding_lr": 10},
        {"type": "cnn"},
        {"type": "transformer"},
        {"type": "gru"},
    ],
    "set": [{"type": "embed"}, {"type": "multi_hot"}],
    "date": [{"type": "piecewise"}, {"type": "dense"}, {"type": "passthrough"}],
    "vector": [{"type": "dense"}, {"type": "passthrough"}],
    "timeseries": [{"type": "summary"}, {"type": "cnn"}, {"type": "gru"}, {"type": "transformer"}],
}
#: preprocessing variants the text and set oracles are checked under
TEXT_PREPROCESSING = [
    {},
    {"ngrams": 2, "min_count": 1, "max_length": 6},
    {"punctuation": False, "lowercase": False, "max_length": 3},
]
SET_PREPROCESSING = [{}, {"lowercase": True, "delimiter": "|"}, {"delimiter": " "}]


def make(type_: str, encoder=None, preprocessing=None):
    block = {"name": "x", "type": type_}
    if encoder:
        block["encoder"] = encoder
    if preprocessing:
        block["preprocessing"] = preprocessing
    cfg = validate_config({"input_features": [block], "output_features": [{"name": "y", "type": "binary"}]})
    return INPUT_FEATURES[type_](cfg.input_features[0])


def oracle(feature, raw: np.ndarray) -> np.ndarray:
    """The transform in plain numpy/Python, written from each module's docstring."""
    s = feature.state()
    if feature.type == "number":
        x = np.where(np.isnan(raw), np.float32(s["fill"]), raw).astype(np.float32)
        x = np.clip(x, np.float32(s["min"]), np.float32(s["max"]))
        if s["edges"]:
            e = np.asarray(s["edges"], dtype=np.float64)
            left, width = e[:-1].astype(np.float32), np.maximum(np.diff(e), 1e-12).astype(np.float32)
            return np.clip((x[:, None] - left) / width, 0, 1).astype(np.float32)
        return ((x - np.float32(s["shift"])) / np.float32(s["scale"]))[:, None]
    if feature.type == "binary":
        v = lookup(raw, s["mapping"])
        return np.where(np.isnan(v), s["fill"], v).astype(np.float32)[:, None]
    if feature.type == "category":
        vocab = {v: i + FIRST_ID for i, v in enumerate(s["vocab"])}
        return np.array([MISSING_ID if r == "" else vocab.get(r, UNKNOWN_ID) for r in raw], dtype=np.int64)
    if feature.type == "text":  # ids of the first max_length tokens, 0-padded; then as many bigram ids
        p = feature.config.preprocessing
        length = p.max_length
        vocab = {v: i + 2 for i, v in enumerate(s["vocab"])}
        bigrams = {b: i + 2 + len(vocab) for i, b in enumerate(s["bigrams"])}
        rows = []
        for r in raw:
            tokens = python_tokens(python_cut(r, length), p.lowercase, p.punctuation)
            ids = [vocab.get(t, 1) for t in tokens][:length]
            row = ids + [0] * (length - len(ids))
            if p.ngrams == 2:
                head = tokens[: length + 1]
                pairs = [bigrams.get(f"{a} {b}", 0) for a, b in zip(head, head[1:])]
                row += pairs + [0] * (length - len(pairs))
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(raw), length * p.ngrams)
    if feature.type == "set":  # multi-hot over the vocabulary; unknown members ignored
        p = feature.config.preprocessing
        index = {m: i for i, m in enumerate(s["vocab"])}
        out = np.zeros((len(raw), len(index)), dtype=np.float32)
        for i, r in enumerate(raw):
            for m in python_members(r, p.delimiter, p.lowercase):
                if m in index:
                    out[i, index[m]] = 1.0
        return out
    raise AssertionError(f"no oracle for {feature.type}")


def roundtrip(feature):
    state = json.loads(json.dumps(feature.state()))
    return type(feature).from_state(feature.config, state)


def run_onnx(feature, raw: np.ndarray) -> np.ndarray:
    return Preprocessor([feature]).transform({"x": raw})["x"]


def test_every_builtin_type_has_an_oracle_and_training_data():
    assert set(BUILTIN_INPUTS) <= set(TRAIN), "add the new type to TRAIN/ENCODERS and oracle()"
    assert {"number", "category", "text", "set", "date"} <= set(BUILTIN_INPUTS)


@pytest.mark.parametrize("type_", BUILTIN_INPUTS)
def test_input_type_meets_the_contract_under_every_encoder(type_):
    """check_feature: hooks, chunked fit == fit, JSON state, the graph on edge values (finite, one row
    per row, alone == batched, zero rows), encoder width and its ONNX export == torch, form field."""
    for enc in ENCODERS[type_]:
        check_feature(INPUT_FEATURES[type_], TRAIN[type_], config={"encoder": enc} if enc else {})


@pytest.mark.parametrize("type_", BUILTIN_INPUTS)
def test_state_round_trips_through_json(type_):
    for enc in ENCODERS[type_]:
        f = make(type_, enc).fit(TRAIN[type_])
        assert roundtrip(f).state() == f.state()
        assert roundtrip(f).output_width() == f.output_width()


floats = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from(
    [0.0, -0.0, 3.4e38, -3.4e38, 1e-45, 2.5, 100.0]
)
texts = st.text(max_size=30) | st.sampled_from(
    ["", " ", "DSL", "dsl", "Yes", "YES", "no", "n", "T", "1", "0", "Ünïcödé 日本", "x" * 10_000]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(floats, min_size=1, max_size=40))
def test_number_onnx_equals_oracle(values):
    raw = np.array(values, dtype=np.float32)
    for enc in ENCODERS["number"]:
        f = roundtrip(make("number", enc).fit(TRAIN["number"]))
        np.testing.assert_allclose(run_onnx(f, raw), oracle(f, raw), rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_binary_onnx_equals_oracle(values):
    raw = coerce.to_strings(np.array(values, dtype=object))
    f = roundtrip(make("binary").fit(TRAIN["binary"]))
    np.testing.assert_array_equal(run_onnx(f, raw), oracle(f, raw))


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_category_onnx_equals_oracle(values):
    raw = coerce.to_strings(np.array(values, dtype=object))
    f = roundtrip(make("category").fit(TRAIN["category"]))
    np.testing.assert_array_equal(run_onnx(f, raw), oracle(f, raw))


# Text from every assigned code point (RE2 in onnxruntime knows newer Unicode than
# Python's unicodedata: unassigned code points may differ, see toolkit/features/text.py).
free_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cn")), max_size=60) | st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        "\u00a0\u3000",
        "<b>Great</b><br /><br />taste!!",
        "ΟΔΟΣ Σ İ",
        "don't, can't; won't",
        "a b " * 3000,
        "x" * 10_000,
        "😀 emoji 😀",
        "مرحبا بالعالم",
        "नमस्ते दुनिया",
        "3.5 1,000 _under_score_",
    ]
)


@settings(max_examples=40, deadline=None)
@given(st.lists(free_text, min_size=1, max_size=20))
def test_text_onnx_equals_oracle(values):
    raw = np.array(values, dtype=object)
    for pre in TEXT_PREPROCESSING:
        f = roundtrip(make("text", preprocessing=pre).fit(TRAIN["text"]))
        np.testing.assert_array_equal(run_onnx(f, raw), oracle(f, raw))


members = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cn")), max_size=8) | st.sampled_from(
    ["sauce", "vegan", "gift", "Vegan", " sauce ", "日本"]
)
set_values = (
    st.lists(members, max_size=5)
    .map(lambda ms: st.sampled_from([",", "|", " ", ", "]).map(lambda d: d.join(ms)))
    .flatmap(lambda s: s)
)


@settings(max_examples=40, deadline=None)
@given(st.lists(set_values | texts, min_size=1, max_size=20))
def test_set_onnx_equals_oracle(values):
    raw = coerce.to_strings(np.array(values, dtype=object))
    for pre in SET_PREPROCESSING:
        f = roundtrip(make("set", preprocessing=pre).fit(TRAIN["set"]))
        np.testing.assert_array_equal(run_onnx(f, raw), oracle(f, raw))


def test_number_handles_the_edge_values_explicitly():
    f = make("number", {"type": "passthrough"}).fit(TRAIN["number"])
    raw = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30], dtype=np.float32)
    out = run_onnx(f, raw)[:, 0]
    s = f.state()
    z = lambda v: (np.float32(v) - np.float32(s["shift"])) / np.float32(s["scale"])  # noqa: E731
    np.testing.assert_allclose(out, [z(s["fill"]), z(s["max"]), z(s["min"]), z(s["max"]), z(s["min"])], rtol=1e-6)
    assert np.isfinite(out).all()


def test_binary_understands_yes_no_words_case_insensitively():
    f = make("binary").fit(np.array(["Yes", "No", "yes"], dtype=object))
    raw = np.array(["YES", "no", "y", "N", "", "maybe"], dtype=object)
    fill = f.state()["fill"]
    np.testing.assert_array_equal(run_onnx(f, raw)[:, 0], [1, 0, 1, 0, fill, fill])


def test_binary_with_declared_true_label():
    f = make("binary", preprocessing={"true_label": "Male"}).fit(np.array(["male", "female", "Male"], dtype=object))
    np.testing.assert_array_equal(run_onnx(f, np.array(["MALE", "female"], dtype=object))[:, 0], [1, 0])


def test_category_reserves_missing_and_unknown_ids():
    f = make("category").fit(TRAIN["category"])
    out = run_onnx(f, np.array(["", "never seen", "DSL"], dtype=object))
    assert out.tolist() == [MISSING_ID, UNKNOWN_ID, FIRST_ID]  # DSL is the most frequent value


def test_category_vocabulary_respects_min_count_and_max_size():
    raw = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 1 + ["d"] * 3, dtype=object)
    f = make("category", preprocessing={"min_count": 2, "max_size": 2}).fit(raw)
    assert f.state()["vocab"] == ["a", "b"]  # c is too rare, d loses the tie to b alphabetically


def test_category_lowercase_option():
    f = make("category", preprocessing={"lowercase": True}).fit(np.array(["DSL", "dsl", "Fiber"], dtype=object))
    assert f.state()["vocab"] == ["dsl", "fiber"]
    assert run_onnx(f, np.array(["DsL", "FIBER"], dtype=object)).tolist() == [FIRST_ID, FIRST_ID + 1]


def test_string_coercion_of_numbers_matches_training_and_serving():
    got = coerce.to_strings(np.array([1.0, 0.0, np.nan, 2.5, True, None, "x"], dtype=object))
    assert got.tolist() == ["1", "0", "", "2.5", "true", "", "x"]
    values, bad = coerce.to_float32(np.array(["3.5", " 7 ", "", None, "abc", 2], dtype=object))
    assert bad == 1
    assert values[0] == 3.5 and values[1] == 7 and math.isnan(values[2]) and math.isnan(values[4])


# ---- the whole protocol (toolkit.testing.check_feature) for every built-in output type ----------

OUTPUT_TRAIN = {
    "number": np.array([1.0, 2.5, 10.0, -3.0, 7.0, 2.5, 100.0, 4.0], dtype=np.float32),
    "binary": np.array(["Yes", "no", "YES", "No", "yes", "n", "y", "no"], dtype=object),
    "category": np.array(["a", "b", "c", "a", "b", "a", "c", "a"], dtype=object),
    "set": np.array(["x, y", "y", "", "x", "z,x", "y", "x", "z"], dtype=object),
}


def make_output(type_: str):
    cfg = validate_config(
        {"input_features": [{"name": "x", "type": "number"}], "output_features": [{"name": "y", "type": type_}]}
    )
    return OUTPUT_FEATURES[type_](cfg.output_features[0])


def test_every_builtin_output_has_training_data():
    assert set(BUILTIN_OUTPUTS) <= set(OUTPUT_TRAIN)


@pytest.mark.parametrize("type_", BUILTIN_OUTPUTS)
def test_output_type_meets_the_contract(type_):
    """check_feature: hooks, JSON state, chunked fit == fit, encoded targets, decoder and a finite loss,
    to_onnx_post == predict (parity), score names only metric_names and holds importance_metric."""
    check_feature(OUTPUT_FEATURES[type_], OUTPUT_TRAIN[type_])


@pytest.mark.parametrize("type_", BUILTIN_OUTPUTS)
def test_output_type_details(type_):
    """What check_feature leaves to tk's own types: no metrics() beside score_raw, importance_score ==
    score's importance metric, classes for classification only, plots that toolkit.report draws."""
    import inspect

    import toolkit.report.build as build

    cls = OUTPUT_FEATURES[type_]
    assert not hasattr(cls, "metrics"), "metrics(y, raw) is score(y, predict(raw)): use score_raw"
    col = OUTPUT_TRAIN[type_]
    f = make_output(type_).fit(col)
    y = f.encode_target(col)
    raw = (
        np.random.default_rng(0)
        .normal(size=y.shape if y.ndim == 2 or f.classes is None or type_ == "binary" else (len(y), len(f.classes)))
        .astype(np.float32)
    )
    scores = f.score_raw(y, raw)
    outs = {f"y::{k}": v for k, v in f.predict(raw).items()}
    assert f.importance_score(y, outs) == pytest.approx(scores[f.importance_metric], nan_ok=True)
    assert (f.classes is None) == (type_ == "number")
    for plot in f.report_plots:
        assert f'"{plot}"' in inspect.getsource(build.model_section), plot
