"""Hostile list cells and huge numbers (issue 27, items 1 and 6): the check of a list row is linear in
time and constant in memory, a time-series row longer than `preprocessing.max_chars` is refused naming
the column (Predictor, `tk predict`, the server's schema), the server checks a row once per request, and
ints Python cannot convert are a PredictorError naming the row and column."""

from __future__ import annotations

import random
import re
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from toolkit import train
from toolkit.common import log
from toolkit.data.number_lists import NUMBER, SERIES_MAX_CHARS, ListColumn
from toolkit.errors import TkError
from toolkit.runtime.predictor import Predictor, PredictorError


@pytest.fixture(scope="module")
def series_model(tmp_path_factory):
    """A number and a space-separated series (one epoch): (TrainedModel, dir)."""
    log.quiet = True
    rng = np.random.default_rng(0)
    series = [" ".join(map(str, rng.normal(size=k).round(3))) for k in rng.integers(1, 6, 120)]
    df = pd.DataFrame({"x": rng.normal(size=120), "series": series, "y": rng.normal(size=120)})
    cfg = {
        "input_features": [
            {"name": "x", "type": "number"},
            {"name": "series", "type": "timeseries", "preprocessing": {"max_chars": 5000}},
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 1},
    }
    out = tmp_path_factory.mktemp("runs") / "series"
    return train(cfg, df, output=out), out


def test_the_list_check_keeps_no_state_per_number():
    """The plain pattern kept ~600 bytes a character (1.3 GB for an 8 MB row); now nothing grows."""
    row = " ".join(["1.5e-3"] * 20_000)  # 140 k characters
    for delimiter, text in [(None, row), (",", row.replace(" ", " , "))]:
        tracemalloc.start()
        try:
            assert ListColumn(delimiter).first_bad([text]) is None
            assert ListColumn(delimiter).first_bad([text + " x"]) is not None
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, f"{delimiter=}: {peak:,} bytes for a {len(text):,}-character row"


@pytest.mark.parametrize("delimiter", [None, ",", "|"])
def test_the_linear_check_answers_as_the_backtracking_pattern(delimiter):
    """Same answer as the plain (backtracking) pattern on 4,000 random short rows per delimiter."""
    between = r"\s+" if delimiter is None else rf"\s*{re.escape(delimiter)}\s*"
    plain = re.compile(rf"\s*(?:{NUMBER})(?:{between}(?:{NUMBER}))*\s*")
    pieces = list("0123456789 .+-eE\tx") + ["1e5", "12", "\u00a0", delimiter or " ", "nan", "1" * 21]
    rng = random.Random(0)
    lists = ListColumn(delimiter)
    for _ in range(4000):
        s = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        if s.strip():
            assert (lists.first_bad([s]) is None) == bool(plain.fullmatch(s)), repr(s)


def test_a_series_row_longer_than_max_chars_is_refused_naming_its_column(series_model, tmp_path):
    model, out = series_model
    long_row = " ".join(["1"] * 2600)  # 5,199 characters: over the config's 5,000
    predictor = Predictor(out)
    assert predictor.list_columns["series"] == ListColumn(None, None, 5000)
    with pytest.raises(PredictorError, match=r"rows\[1\]\.series: .* a row of 5,199 characters .* at most 5,000"):
        predictor.predict([{"x": 1.0, "series": "1 2"}, {"x": 1.0, "series": long_row}])
    assert len(predictor.predict([{"x": 1.0, "series": long_row[:4999]}])) == 1
    with pytest.raises(TkError, match=r"row 2: column 'series': .* 5,199 characters"):  # tk predict's path
        model.predict(pd.DataFrame({"x": [1.0, 2.0], "series": ["1", long_row]}), engine="torch")

    from serving.schemas import row_model

    Row = row_model(predictor.inputs, lists=predictor.list_columns)
    with pytest.raises(ValidationError) as e:
        Row.model_validate({"x": 1.0, "series": long_row})
    assert e.value.errors()[0]["loc"] == ("series",)


def test_a_file_without_a_series_cap_gets_the_default_cap():
    assert ListColumn.from_metadata({"delimiter": ","}) == ListColumn(",", None, SERIES_MAX_CHARS)
    assert ListColumn.from_metadata({"delimiter": None, "size": 3}) == ListColumn(None, 3, None)
    row = " ".join(["1"] * (SERIES_MAX_CHARS // 2 + 1))
    assert "characters" in ListColumn.from_metadata({"delimiter": None}).first_bad([row])[1]


def test_the_server_checks_a_list_row_once_per_request(series_model, monkeypatch):
    """In-process service (BentoML's documented TestClient route): the request schema reads each list row
    once; the batch thread does not read it again."""
    from starlette.testclient import TestClient

    from serving.service import build_service
    from serving.settings import Settings

    calls = []
    first_bad = ListColumn.first_bad
    monkeypatch.setattr(ListColumn, "first_bad", lambda self, rows: calls.append(len(rows)) or first_bad(self, rows))
    service = build_service(Settings(model=str(series_model[1])))
    with TestClient(service.to_asgi(), base_url="http://127.0.0.1:3000") as client:
        for route in ("/predict", "/predict_bulk"):
            calls.clear()
            answer = client.post(route, json={"rows": [{"x": 1.0, "series": "1 2 3"}, {"x": 2.0, "series": [1, 2]}]})
            assert answer.status_code == 200, answer.text
            assert calls == [1, 1], route  # one per row, from the request schema only


def test_ints_python_cannot_convert_are_an_error_naming_row_and_column(churn_model):
    predictor = Predictor(churn_model[1])
    nulls = {c: None for c in predictor.inputs}
    cases = [
        ([{**nulls, "tenure": 10**400}], r"rows\[0\]\.tenure: expected a number .* about 401 digits"),
        ([nulls, {**nulls, "contract": 10**5000}], r"rows\[1\]\.contract: expected a string .* about 5,001 digits"),
        (
            {**{c: [None, None] for c in predictor.inputs}, "monthly_charges": [1, -(10**400)]},
            r"rows\[1\]\.monthly_charges: expected a number",
        ),
        (
            pd.DataFrame({**{c: [None] for c in predictor.inputs}, "contract": [10**5000]}, dtype=object),
            r"rows\[0\]\.contract: expected a string",
        ),
    ]
    for rows, message in cases:
        with pytest.raises(PredictorError, match=message):
            predictor.predict(rows)
    assert len(predictor.predict([{**nulls, "tenure": 10**300, "contract": 10**100}])) == 1  # within range: read
