"""A date column whose format has fractions of a second (%f) on the page of `tk export --web` (issue 27,
item 7): the picker's value is written with its fraction, which the graph reads (it wrote a literal
"%f" before, read as missing), and the form's default (the fitted median date) reads back into the
picker. Headless Chromium through tests/web/drive.js, as tests/test_web.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_web import browser, ort_web  # noqa: F401 (fixtures)
from tests.web_helpers import assert_matches_python, drive, export_site

FORMAT = "%d/%m/%Y %H:%M:%S.%f"


@pytest.fixture(scope="module")
def fraction_site(ort_web, tmp_path_factory) -> Path:  # noqa: F811
    import pandas as pd

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    rng = np.random.default_rng(1)
    when = (
        pd.Timestamp("2021-01-01")
        + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, 400), unit="s")
        + pd.to_timedelta(rng.integers(0, 1000, 400), unit="ms")
    )
    frame = pd.DataFrame(
        {
            "when": [t.strftime("%d/%m/%Y %H:%M:%S.") + f"{t.microsecond // 1000:03d}" for t in when],
            "x": rng.normal(size=400),
        }
    )
    frame["y"] = np.cos(when.hour.to_numpy() / 24 * 2 * np.pi) * 2 + frame["x"] + rng.normal(0, 0.1, 400)
    config = {
        "input_features": [
            {"name": "when", "type": "date", "preprocessing": {"format": FORMAT}},
            {"name": "x", "type": "number"},
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 2},
    }
    out = tmp_path_factory.mktemp("runs") / "fractions"
    train(config, dataset=frame, output=out)
    return export_site(out, tmp_path_factory.mktemp("web") / "fractions-site")


def test_fractional_seconds_are_written_and_read_by_the_page(browser, fraction_site, tmp_path):  # noqa: F811
    from toolkit.features.date_parse import parse
    from toolkit.runtime.predictor import Predictor

    rows = [
        {"when": "2022-06-15T07:08:09.250", "x": "1.5"},
        {"when": "2023-01-02T23:59:58.5", "x": "0"},
        {"when": "2021-03-04T05:06", "x": "-1"},
    ]
    out = drive(browser, fraction_site, tmp_path, rows=rows)
    predictor = Predictor(fraction_site / "model.onnx")
    sent = [r["values"]["when"] for r in out["rows"]]
    assert sent == ["15/06/2022 07:08:09.25", "02/01/2023 23:59:58.5", "04/03/2021 05:06:00.0"], sent
    parsed = parse(np.array(sent, dtype=object), FORMAT)
    assert not np.isnan(parsed["year"]).any(), f"the graph reads a sent date as missing: {sent}"
    for i, shown in enumerate(out["rows"]):
        assert_matches_python(predictor, shown["values"], shown["results"], f"row {i}")
    default = predictor.metadata["tk.web"]["fields"][0]
    assert default["column"] == "when" and out["defaults"]["values"]["when"] == default["default"], (
        out["defaults"]["values"],
        default,
    )  # the default read into the picker and written back unchanged
    assert_matches_python(predictor, out["defaults"]["values"], out["defaults"]["results"], "defaults")
