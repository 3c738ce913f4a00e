"""The date input: ONNX parsing == Python's datetime.strptime, the feature's transform == its oracle,
hostile values, config errors, and a train through toolkit.api.train with model.onnx parity."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import train
from toolkit.common import log
from toolkit.config.schema import validate_config
from toolkit.data import coerce
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES
from toolkit.features.date import render
from toolkit.features.date_parse import CYCLES, EPOCH_PATTERN, ISO_FORMATS, PARTS, parse
from toolkit.features.pregraph import Preprocessor

FORMATS = [
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M",
    "%m.%d.%Y %H:%M:%S",
    "%H:%M:%S on %d %m %Y",
    "T%Yx%d%%%m",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d %m",
]
TRAIN = np.array(
    [
        "2024-01-31",
        "2023-12-25 08:30",
        "",
        "2024-02-29T23:59:59",
        "nonsense",
        "2020-06-15 12:00:00.25",
        "2024-02-30",
        "1999-01-01",
    ],
    dtype=object,
)


def oracle_parts(s: str, fmt: str) -> dict[str, float] | None:
    """Python's reading of `s`: datetime.strptime (or seconds since 1970); None when it is not a date."""
    if fmt == "epoch":
        if not re.fullmatch(EPOCH_PATTERN, s):
            return None
        try:
            dt = datetime(1970, 1, 1) + timedelta(seconds=math.floor(float(s)))
        except OverflowError:
            return None
    else:
        if any(c.isdigit() and c not in "0123456789" for c in s):
            return None  # tk reads only ASCII digits (documented in date_parse)
        dt = None
        for f in ISO_FORMATS if fmt == "iso" else [fmt]:
            try:
                dt = datetime.strptime(s, f)
                break
            except ValueError:
                continue
        if dt is None:
            return None
    days = (dt.date() - datetime(1970, 1, 1).date()).days
    return {
        "year": dt.year,
        "month": dt.month,
        "day": dt.day,
        "weekday": dt.weekday(),
        "day_of_year": dt.timetuple().tm_yday,
        "hour": dt.hour,
        "minute": dt.minute,
        "second": dt.second,
        "elapsed_days": days + (dt.hour * 3600 + dt.minute * 60 + dt.second) / 86400,
    }


def check_parse(values: list[str], fmt: str) -> None:
    got = parse(np.array(values, dtype=object), fmt)
    for i, s in enumerate(values):
        want = oracle_parts(s, fmt)
        row = {p: float(got[p][i]) for p in PARTS}
        if want is None:
            assert all(math.isnan(v) for v in row.values()), (s, fmt, row)
        else:
            for p in PARTS:
                assert row[p] == pytest.approx(np.float32(want[p]), rel=1e-6, abs=1e-6), (s, fmt, p, row[p], want[p])


def _num(lo: int, hi: int):
    """An integer in [lo, hi] written with 1 to 4 digits, zero-padded or not."""
    return st.tuples(st.integers(lo, hi), st.sampled_from(["{}", "{:02d}", " {}", "{:04d}"])).map(
        lambda t: t[1].format(t[0])
    )


def _fill(fmt: str, values: dict[str, str]) -> str:
    return re.sub(r"%([YmdHMSf%])", lambda m: "%" if m.group(1) == "%" else values[m.group(1)], fmt)


shaped = st.builds(
    lambda fmt, y, m, d, hh, mm, ss, sep, noise: (
        fmt,
        _fill(fmt, dict(Y=y, m=m, d=d, H=hh, M=mm, S=ss, f="5")).replace(" ", sep) + noise,
    ),
    st.sampled_from(FORMATS),
    _num(0, 10000),
    _num(0, 13),
    _num(0, 32),
    _num(0, 24),
    _num(0, 60),
    _num(0, 61),
    st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000"]),
    st.sampled_from(["", "", "", " ", "Z", "x", "0"]),
)
junk = st.text(max_size=25) | st.sampled_from(
    [
        "",
        " ",
        "2024-02-30",
        "0000-01-01",
        "9999-12-31 23:59:59",
        "2016-12-31 23:59:60",
        "1e30",
        "NaN",
        "２０２４-01-01",
        "x" * 5000,
        "2024-01-31T10:20Z",
        "2024-01-31 10:20:30.5z",
        "2024-01-31Z",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(shaped, min_size=1, max_size=30), st.lists(junk, max_size=10))
def test_strptime_formats_parse_as_python_does(rows, extra):
    for fmt in FORMATS:
        check_parse([s for f, s in rows if f == fmt] + extra, fmt)


iso_shaped = st.builds(
    lambda y, m, d, t, hh, mm, ss, frac: (
        f"{y}-{m}-{d}" + ("" if t == "" else f"{t}{hh}:{mm}" + ("" if ss is None else f":{ss}" + frac))
    ),
    _num(0, 10000),
    _num(0, 13),
    _num(0, 32),
    st.sampled_from(["", "T", "t", " ", "  ", "_"]),
    _num(0, 24),
    _num(0, 60),
    st.none() | _num(0, 61),
    st.sampled_from(
        ["", ".5", ".123456", ".1234567", ".", "Z", "z", ".5Z", "+02:00", "ZZ", " Z", "+00:00", ".25+00:00", "+0000"]
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(iso_shaped | junk, min_size=1, max_size=30))
def test_iso_parses_as_python_strptime_of_the_iso_forms(values):
    check_parse(values, "iso")


epoch_values = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**12), 10**12)
    | st.sampled_from(
        [
            0,
            -1,
            1e30,
            -1e30,
            253402300799,
            253402300800,
            -62135596800,
            -62135596801,
            86399.999,
            -0.5,
            "1_000",
            "0x10",
            " 5",
            "1e400",
            "1" * 25,
            ".5",
            "5.",
            "+7",
            "1E+05",
        ]
    )
)


@settings(max_examples=60, deadline=None)
@given(st.lists(epoch_values, min_size=1, max_size=30))
def test_epoch_seconds_parse_as_python_datetime(values):
    check_parse(coerce.to_strings(np.array(values, dtype=object)).tolist(), "epoch")


def test_hostile_values_are_missing_not_errors():
    values = [
        "",
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "0000-01-01",
        "2016-12-31 23:59:60",
        "1e30",
        "NaN",
        "9999-12-31 23:59:59",
        "0001-01-01",
        "2024-02-29",
    ]
    got = parse(np.array(values, dtype=object), "iso")
    assert np.isnan(got["year"][:8]).all()
    assert got["year"][8:].tolist() == [9999, 1, 2024] and got["weekday"][10] == 3  # 2024-02-29: a Thursday
    epoch = parse(np.array(["1e30", "-1e30", "nan", "inf", "", "1700000000"], dtype=object), "epoch")
    assert np.isnan(epoch["year"][:5]).all() and epoch["hour"][5] == 22


# ---- the feature -----------------------------------------------------------------------------------


def make(preprocessing=None, encoder=None):
    block = {"name": "x", "type": "date"}
    if preprocessing:
        block["preprocessing"] = preprocessing
    if encoder:
        block["encoder"] = encoder
    cfg = validate_config({"input_features": [block], "output_features": [{"name": "y", "type": "binary"}]})
    return INPUT_FEATURES["date"](cfg.input_features[0])


def feature_oracle(f, raw: np.ndarray) -> np.ndarray:
    """The date feature's transform from its docstring: per part fill → clamp → encoding; sin/cos; flag."""
    s, fmt = f.state(), f.config.preprocessing.format
    rows = []
    for v in raw:
        want = oracle_parts(v, fmt)
        row, filled = [], {}
        for p, st_ in s["parts"].items():
            x = np.float32(st_["fill"] if want is None else want[p])
            filled[p] = x
            x = np.clip(x, np.float32(st_["min"]), np.float32(st_["max"]))
            if st_["edges"]:
                e = np.asarray(st_["edges"], dtype=np.float64)
                left, width = e[:-1].astype(np.float32), np.maximum(np.diff(e), 1e-12).astype(np.float32)
                row += np.clip((x - left) / width, 0, 1).tolist()
            else:
                row.append((x - np.float32(st_["shift"])) / np.float32(st_["scale"]))
        for p in f.cyclical():
            first, period = CYCLES[p]
            angle = (filled[p] - first) * 2 * math.pi / period
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row + [1.0 if want is None else 0.0])
    return np.array(rows, dtype=np.float64)


def run(f, values) -> np.ndarray:
    return Preprocessor([f]).transform({"x": np.array(values, dtype=object)})["x"]


def roundtrip(f):
    return type(f).from_state(f.config, json.loads(json.dumps(f.state())))


VARIANTS = [
    ({}, {}),
    ({"parts": ["weekday", "hour", "elapsed_days"]}, {"type": "passthrough"}),
    ({"cyclical": False}, {"type": "dense", "size": 4}),
    ({"format": "%Y-%m-%d"}, {"bins": 3}),
]


@settings(max_examples=30, deadline=None)
@given(st.lists(iso_shaped | junk, min_size=1, max_size=20))
def test_feature_transform_equals_oracle(values):
    for pre, enc in VARIANTS:
        f = roundtrip(make(pre, enc).fit(TRAIN))
        got = run(f, values)
        assert got.shape == (len(values), f.pre_width())
        np.testing.assert_allclose(got, feature_oracle(f, np.array(values, dtype=object)), rtol=1e-5, atol=2e-6)


def test_fit_counts_bad_values_and_uses_medians(capsys):
    log.quiet = False
    f = make().fit(TRAIN)
    assert f.state()["unparsed"] == 2  # "nonsense" and Feb 30; "" is plainly missing
    assert "2 value(s) are not dates in format 'iso'" in capsys.readouterr().err
    assert f.numbers_["year"].fill_ == np.median([2024, 2023, 2024, 2020, 1999])
    out = run(f, ["", "2024-02-30"])
    assert (out[:, -1] == 1).all() and (out[0] == out[1]).all()
    assert run(f, ["2024-01-31"])[0, -1] == 0


def test_fit_in_chunks_equals_fit_and_state_round_trips():
    whole = make().fit(TRAIN)
    acc = make().accumulator()
    for part in np.array_split(TRAIN, 3):
        acc.update(part)
    acc.end_pass()
    assert acc.finish().state() == whole.state()
    again = roundtrip(whole)
    assert again.state() == whole.state() and again.output_width() == whole.output_width()


def test_default_parts_follow_the_format():
    assert make({"format": "%d.%m.%Y"}).parts == ("year", "month", "day", "weekday", "day_of_year", "elapsed_days")
    assert "hour" in make({"format": "epoch"}).parts


def test_every_edge_value_gives_finite_columns_and_a_flag():
    for fmt, train_values in [
        ("iso", TRAIN),
        ("%d/%m/%Y %H:%M", ["31/01/2024 10:00", "01/02/2023 23:59"]),
        ("epoch", ["0", "1700000000", "86400.5"]),
    ]:
        f = make({"format": fmt}).fit(np.array(train_values, dtype=object))
        edges = f.edge_values()
        out = run(f, edges)
        assert np.isfinite(out).all() and out.shape == (len(edges), f.pre_width())
        bad_values = ["1e30", "nan", "", render(fmt, 0, 1, 1)] + ([] if fmt == "epoch" else [render(fmt, 2024, 2, 30)])
        for bad in bad_values:  # (Feb 30 in seconds is Mar 1)
            assert out[edges.index(bad), -1] == 1.0, (fmt, bad)
        assert out[edges.index(render(fmt, 9999, 12, 31, 23, 59, 59)), -1] == 0.0
        leap = edges.index(render(fmt, 2016, 12, 31, 23, 59, 60))
        # a leap second is missing where the format writes seconds; epoch has none (it is 2017-01-01 00:00:00)
        assert out[leap, -1] == (1.0 if fmt == "iso" else 0.0)
    assert make({"format": "epoch"}).fit(np.array(["0"], dtype=object)).form_field()["control"] == "number"


@pytest.mark.parametrize(
    "pre, where",
    [
        ({"format": "%b %d %Y"}, "%b"),
        ({"format": "%Y%m%d"}, "nothing between"),
        ({"format": "%Y-%m-%d", "parts": ["hour"]}, "need a time of day"),
        ({"format": "%Y/%Y"}, "twice"),
        ({"parts": []}, "parts is empty"),
        ({"format": "hello"}, "no %Y"),
    ],
)
def test_config_errors_name_the_yaml_path(pre, where):
    with pytest.raises(TkError) as e:
        make(pre)
    assert "input_features" in str(e.value) and "preprocessing" in str(e.value) and where in str(e.value)


def test_training_split_with_no_date_is_one_error():
    with pytest.raises(TkError, match="no value in the training split is a date in format '%d/%m/%Y'"):
        make({"format": "%d/%m/%Y"}).fit(np.array(["2024-01-31", ""], dtype=object))


def test_train_end_to_end_with_model_onnx_parity(tmp_path):
    """A weekend + season signal only visible through the parsed parts; model.onnx parity is checked by save."""
    log.quiet = True
    rng = np.random.default_rng(0)
    n = 500
    when = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, n), "s")
    y = (when.day_of_week >= 5) * 3.0 + np.sin(2 * np.pi * when.month / 12) + rng.normal(0, 0.1, n)
    raw = when.strftime("%d/%m/%Y %H:%M").to_numpy().astype(object)
    raw[:4] = ["", "30/02/2024 10:00", "garbage", "1/1/2020 0:00"]
    cfg = {
        "input_features": [{"name": "when", "type": "date", "preprocessing": {"format": "%d/%m/%Y %H:%M"}}],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 15},
    }
    model = train(cfg, pd.DataFrame({"when": raw, "y": y}), output=tmp_path / "m")
    assert (tmp_path / "m" / "model.onnx").exists()
    assert model.stats["metrics"]["validation"]["y"]["r2"] > 0.7
    hostile = ["", "30/02/2024 10:00", "01/01/0000 00:00", "1e30", "31/12/9999 23:59", "31/12/2016 23:60"]
    out = model.predict(pd.DataFrame({"when": hostile}))
    assert np.isfinite(out["y::value"]).all()
    assert len(set(out["y::value"].iloc[:4].round(6))) == 1  # every missing value reads as the medians


def test_pandas_timestamps_coerced_to_strings_parse_as_iso():
    """Parquet/JSON timestamps reach the graph through toolkit.data.coerce.to_strings: naive, NaT and UTC ones read."""
    naive = pd.Series(pd.to_datetime(["2024-01-31 10:20:30", None]))
    utc = pd.Series(pd.to_datetime(["2024-01-31 10:20:30", "2016-02-29 00:00:00"])).dt.tz_localize("UTC")
    strings = coerce.to_strings(naive.to_numpy()).tolist() + coerce.to_strings(utc.to_numpy()).tolist()
    got = parse(np.array(strings, dtype=object), "iso")
    assert got["hour"].tolist()[0] == 10 and np.isnan(got["hour"][1])
    assert got["minute"][2] == 20 and got["day"][3] == 29 and got["weekday"][3] == 0  # 2016-02-29: a Monday
