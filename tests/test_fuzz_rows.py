"""Fuzzing rows with hypothesis: random raw values never end in a traceback.

Random raw values per column (any unicode with control characters and lone
surrogates, NaN, ±inf, ±1e308, "", 10,000-character strings, ints, bools, None)
through `Predictor(dir).predict(records)` and through
`model.predict(DataFrame, engine="torch")` give identical labels and
probabilities within 1e-5, or both raise a TkError naming the column. One model
(ROW_CONFIG) is trained once per module. Every example count is bounded
(`max_examples`) and printed (`pytest -s`). Strategies and the table:
tests/fuzz_data.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, note, settings

from tests.fuzz_data import COUNTS, DF, INPUT_COLUMNS, print_counts, record_batches
from toolkit import train
from toolkit.common import log
from toolkit.errors import TkError
from toolkit.runtime.predictor import Predictor

ROW_CONFIG = {
    "input_features": [
        {"name": "n1", "type": "number"},
        {
            "name": "n2",
            "type": "number",
            "encoder": {"type": "dense", "size": 4},
            "preprocessing": {"normalization": "minmax", "missing_value_strategy": "median"},
        },
        {"name": "b1", "type": "binary"},
        {"name": "c1", "type": "category"},
        {"name": "t1", "type": "text", "preprocessing": {"max_length": 16, "min_count": 1}},
        {"name": "s1", "type": "set"},
    ],
    "output_features": [{"name": "y_bin", "type": "binary"}, {"name": "y_cat", "type": "category"}],
    "trainer": {"epochs": 2, "batch_size": 16},
}


@pytest.fixture(scope="module")
def row_model(tmp_path_factory):
    log.quiet = True
    path = tmp_path_factory.mktemp("rowmodel") / "m"
    model = train(ROW_CONFIG, DF, output=path)
    return model, Predictor(path)


def _run_both(model, predictor, records):
    """(labels+probs by onnx, by torch) or the errors raised."""
    try:
        by_onnx = predictor.predict(records)
        onnx_err = None
    except TkError as e:
        by_onnx, onnx_err = None, e
    try:
        by_torch = model.predict(pd.DataFrame(records, dtype=object), engine="torch")
        torch_err = None
    except TkError as e:
        by_torch, torch_err = None, e
    return by_onnx, onnx_err, by_torch, torch_err


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(records=record_batches())
def test_random_rows_predictor_equals_torch_or_both_name_the_column(row_model, records):
    model, predictor = row_model
    COUNTS["row_batches"] += 1
    COUNTS["rows"] += len(records)
    note(repr(records)[:3000])
    by_onnx, onnx_err, by_torch, torch_err = _run_both(model, predictor, records)
    if onnx_err or torch_err:
        COUNTS["row_errors"] += 1
        assert onnx_err is not None and torch_err is not None, (
            f"only one path raised: onnx={onnx_err!r} torch={torch_err!r}"
        )
        for err in (onnx_err, torch_err):
            assert any(c in str(err) for c in INPUT_COLUMNS), f"error names no column: {err}"
        return
    for i, rec in enumerate(by_onnx):
        for out in ("y_bin", "y_cat"):
            assert rec[out]["label"] == by_torch[f"{out}::label"].iloc[i], (out, i)
            for cls, p in rec[out]["probabilities"].items():
                assert abs(p - by_torch[f"{out}::probability::{cls}"].iloc[i]) <= 1e-5, (out, cls, i)


def test_text_in_a_number_column_same_answer_on_both_engines(row_model):
    model, predictor = row_model
    records = [{"n1": 0.5, "n2": "abc", "b1": "yes", "c1": "red", "t1": "good", "s1": "a,b"}]
    by_onnx, onnx_err, by_torch, torch_err = _run_both(model, predictor, records)
    assert (onnx_err is None) == (torch_err is None), f"onnx={onnx_err!r} torch={torch_err!r}"


@pytest.mark.parametrize("column", ["c1", "t1"])
def test_a_list_in_a_string_column_is_a_clear_error_on_both_engines(row_model, column):
    model, predictor = row_model
    records = [{"n1": 0.5, "n2": 1.0, "b1": "yes", "c1": "red", "t1": "good", "s1": "a", column: ["a"]}]
    try:
        _run_both(model, predictor, records)
    except TypeError as e:
        raise AssertionError(f"uncaught TypeError: {e}") from None
    with pytest.raises(TkError, match=column):
        model.predict(pd.DataFrame(records, dtype=object), engine="torch")


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    """After this module: print how many configs and rows the fuzz tests tried (see with -s)."""
    yield
    print_counts()
