"""`tk report` along a date input: each output gets a plot along the date whose periods hold what the
rows say; undated rows are left out, sentinel dates (0001-01-01, 9999-12-31) still give a plot, and a
set output gets none. Small models trained here; the rest of `tk report` is in tests/test_report.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.report_helpers import check_png


def test_outputs_along_a_date_input(tmp_path):
    """A date drives every output (price rises over 2023, sales are 'high' in summer, a category by
    quarter): each output gets a plot along the date, and its periods hold what the rows say."""
    from toolkit import api, train
    from toolkit.common import log
    from toolkit.report import data, plots_time
    from toolkit.report.build import report

    log.quiet = True
    rng = np.random.default_rng(5)
    n = 800
    day = rng.integers(0, 365, n)
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(day, unit="D")
    df = pd.DataFrame({"when": dates.strftime("%Y-%m-%d"), "noise": rng.normal(size=n)})
    df["price"] = 100 + 0.5 * day + rng.normal(0, 5, n)
    df["high"] = np.where((dates.month >= 6) & (dates.month <= 8), "yes", "no")
    df["quarter"] = "q" + dates.quarter.astype(str)
    df.loc[:9, "when"] = ["", "2023-02-30"] * 5  # undated rows: left out of the plots
    cfg = {
        "input_features": [{"name": "when", "type": "date"}, {"name": "noise", "type": "number"}],
        "output_features": [
            {"name": "price", "type": "number"},
            {"name": "high", "type": "binary"},
            {"name": "quarter", "type": "category"},
        ],
        "trainer": {"epochs": 30},
    }
    train(cfg, df, output=tmp_path / "m")
    rows = tmp_path / "rows.csv"
    df.to_csv(rows, index=False)
    out = tmp_path / "report"
    report([tmp_path / "m"], rows, out, importance_repeats=1)
    for name in ("price", "high", "quarter"):
        check_png(out / f"{name}_along_when.png")
    assert "price along when" in (out / "report.html").read_text()

    model = api.load(tmp_path / "m")
    days = plots_time.dated_days(model.inputs[0], df)
    assert np.isnan(days[:10]).all() and np.isfinite(days[10:]).all()
    want = (dates[10:] - pd.Timestamp("1970-01-01")).days.to_numpy()
    np.testing.assert_array_equal(days[10:], want)
    index, middles = plots_time.periods(days)
    assert (index[:10] == -1).all() and len(middles) == plots_time.BINS
    assert np.all(np.diff(middles) > 0)
    counts = np.bincount(index[index >= 0])
    assert counts.max() - counts.min() <= 10, counts  # equal-count periods (ties on a day aside)
    run = data.gather(model, tmp_path / "m", "m", df, "rows")
    price = run.outputs[0]
    first = price.rows[index[price.rows] == 0]
    assert df.loc[first, "price"].mean() < 115  # January's prices, as the first period shows


def test_dates_at_the_calendar_ends_and_a_set_output(tmp_path):
    """Sentinel dates (0001-01-01, 9999-12-31) still give a plot along the date; a set output gets none."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.report.build import report

    log.quiet = True
    rng = np.random.default_rng(6)
    n = 300
    day = rng.integers(0, 365, n)
    df = pd.DataFrame(
        {
            "when": (pd.Timestamp("2023-01-01") + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d"),
            "price": 100 + 0.5 * day + rng.normal(0, 5, n),
            "tags": np.where(day > 180, "a, b", "b"),
        }
    )
    df.loc[::10, "when"] = "9999-12-31"
    df.loc[5::10, "when"] = "0001-01-01"
    cfg = {
        "input_features": [{"name": "when", "type": "date"}],
        "output_features": [{"name": "price", "type": "number"}, {"name": "tags", "type": "set"}],
        "trainer": {"epochs": 2},
    }
    train(cfg, df, output=tmp_path / "m")
    df.to_csv(tmp_path / "rows.csv", index=False)
    report([tmp_path / "m"], tmp_path / "rows.csv", tmp_path / "report", importance_repeats=1)
    assert sorted(p.name for p in (tmp_path / "report").glob("*_along_*")) == ["price_along_when.png"]
    check_png(tmp_path / "report" / "price_along_when.png")
