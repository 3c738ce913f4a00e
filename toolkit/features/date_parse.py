r"""Dates parsed inside the ONNX graph: string [N] → calendar parts, with no Python at prediction.

    fmt = compile_format("%d/%m/%Y %H:%M")          # or "iso", or "epoch"
    parts, valid = parts_onnx(g, raw, fmt, name)    # {part: float32 [N], NaN where invalid}, bool [N]

A strptime format (%Y %m %d %H %M %S %f and %%; any other character is a
literal, a run of spaces matches one or more spaces) becomes one RE2 pattern
that mirrors Python's `_strptime` regexes (1- or 2-digit month, day, hour,
minute and second; a day may be " 5"; a 4-digit year; matching is
case-insensitive). In the graph:

    RegexFullMatch(raw, pattern)                    → bool [N]: the shape is right
    Tokenizer(raw, "[0-9]+") → first K digit runs   → int64 [N, K] (K = the format's fields; rows
                                                      of the wrong shape are blanked before, read "0"s)
    year ≥ 1, day ≤ days in the month (leap years), second ≤ 59
                                                    → bool [N] valid, as datetime.strptime
    days_from_civil (Howard Hinnant, int64)         → days since 1970-01-01
    weekday = (days + 3) mod 7 (Monday 0), day of year, elapsed days (with the time of day)

`iso` is `%Y-%m-%d`, optionally followed by `T` (or spaces) `%H:%M`, optionally `:%S`,
optionally `.%f`, then optionally `Z` or `+00:00` (UTC, as pandas writes a UTC timestamp): a
value is valid when one of those strptime formats (ISO_FORMATS) accepts it. Other time zones
(+02:00) are not read: such a value is missing.

`epoch` is seconds since 1970-01-01 UTC, written as a number: the column is read
as a string (float32 would round 1.7e9 s to 128 s) and must match
EPOCH_PATTERN (at most 20 digits before and after the point, a 2-digit
exponent, so that Cast never fails); it is floored to whole seconds and
civil_from_days (Hinnant) gives the calendar. Valid from 0001-01-01 to
9999-12-31 23:59:59, as Python's datetime.

Known differences from Python: only ASCII digits 0-9 are digits here (Python's
strptime also reads other scripts' digits; tk reads such values as missing);
fractions of a second are dropped (never rounded up). Two numeric directives
with no character between them ("%Y%m%d") are refused: strptime's own reading
of them is ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from toolkit.features.base import np  # numpy, lazily

#: Every part a date gives, in the order they are encoded.
PARTS = ("year", "month", "day", "weekday", "day_of_year", "hour", "minute", "second", "elapsed_days")
#: Parts that only exist when the format has a time.
TIME_PARTS = ("hour", "minute", "second")
#: Periodic parts → (first value, period) of their sin/cos encoding.
CYCLES = {
    "month": (1, 12),
    "day": (1, 31),
    "weekday": (0, 7),
    "day_of_year": (1, 366),
    "hour": (0, 24),
    "minute": (0, 60),
    "second": (0, 60),
}

#: Python's `_strptime` regexes (3.11), ASCII digits only.
DIRECTIVES = {
    "Y": "[0-9]{4}",
    "m": "1[0-2]|0[1-9]|[1-9]",
    "d": "3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9]",
    "H": "2[0-3]|[01][0-9]|[0-9]",
    "M": "[0-5][0-9]|[0-9]",
    "S": "6[01]|[0-5][0-9]|[0-9]",
    "f": "[0-9]{1,6}",
}
#: What a field is when the format does not have it (Python's defaults).
DEFAULTS = {"Y": 1900, "m": 1, "d": 1, "H": 0, "M": 0, "S": 0}
#: Python's `\s` (str.isspace), spelled out: RE2's `\s` is ASCII-only.
SPACE = r"[\p{Z}\t-\r\x{1c}-\x{1f}\x{85}]"
EPOCH_PATTERN = r"[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([eE][+-]?[0-9]{1,2})?"
#: Seconds since 1970 of 0001-01-01 00:00:00 and of 10000-01-01 00:00:00 (Python's datetime range).
EPOCH_MIN, EPOCH_END = -62_135_596_800, 253_402_300_800
_ISO_TIMES = ("T%H:%M", " %H:%M", "T%H:%M:%S", " %H:%M:%S", "T%H:%M:%S.%f", " %H:%M:%S.%f")
ISO_FORMATS = ("%Y-%m-%d",) + tuple(f"%Y-%m-%d{t}{z}" for z in ("", "Z", "+00:00") for t in _ISO_TIMES)


@dataclass(frozen=True)
class DateFormat:
    """A compiled `preprocessing.format`: the RE2 pattern and its numeric fields, in order."""

    text: str  # as written in the config
    pattern: str  # RE2, full match
    fields: tuple[str, ...]  # directive letters in the order their digits appear
    epoch: bool = False

    @property
    def has_time(self) -> bool:
        return self.epoch or "H" in self.fields

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts this format can give."""
        return PARTS if self.has_time else tuple(p for p in PARTS if p not in TIME_PARTS)


def compile_format(text: str) -> DateFormat:
    """`text` ("%Y-%m-%d", "iso", "epoch", …) → DateFormat; ValueError naming the problem."""
    if text == "epoch":
        return DateFormat(text, EPOCH_PATTERN, (), epoch=True)
    if text == "iso":
        y, m, d, hh, mm, ss, ff = (f"({DIRECTIVES[k]})" for k in "YmdHMSf")
        pattern = f"(?i){y}-{m}-{d}(?:(?:T|{SPACE}+){hh}:{mm}(?::{ss}(?:\\.{ff})?)?(?:Z|\\+00:00)?)?"
        return DateFormat(text, pattern, tuple("YmdHMSf"))
    out, fields, i, last_numeric = [], [], 0, False
    while i < len(text):
        c = text[i]
        if c == "%":
            k = text[i + 1] if i + 1 < len(text) else ""
            if k == "%":
                out.append("%")
                last_numeric = False
            elif k in DIRECTIVES:
                if k in fields:
                    raise ValueError(f"%{k} appears twice in the date format {text!r}")
                if last_numeric:
                    raise ValueError(
                        f"the date format {text!r} has two numbers with nothing between them "
                        f"(before %{k}); put a separator between the fields"
                    )
                out.append(f"({DIRECTIVES[k]})")
                fields.append(k)
                last_numeric = True
            else:
                raise ValueError(
                    f"the date format {text!r} has %{k}, which tk does not read; "
                    "use %Y %m %d %H %M %S %f, 'iso' or 'epoch'"
                )
            i += 2
            continue
        if c.isspace():
            while i < len(text) and text[i].isspace():
                i += 1
            out.append(f"{SPACE}+")
        else:
            out.append(f"\\x{{{ord(c):x}}}" if not c.isalnum() else re.escape(c))
            i += 1
        last_numeric = False
    if not fields:
        raise ValueError(f"the date format {text!r} has no %Y, %m, %d, %H, %M or %S")
    return DateFormat(text, "(?i)" + "".join(out), tuple(fields))


# ---- the graph ---------------------------------------------------------------------------------


def _c(g, value, name, dtype=None):
    return g.const(np.asarray(value, dtype=dtype), name=name)


class _Ops:
    """Shorthands for the int64 arithmetic of the calendar (every node named under `name`)."""

    def __init__(self, g, name: str):
        self.g, self.n = g, name

    def i(self, v):
        return _c(self.g, v, f"{self.n}/k", np.int64)

    def __call__(self, op, *args, **attrs):
        return self.g.op(op, *args, name=f"{self.n}/{op.lower()}", **attrs)

    def div(self, a, b):  # non-negative operands only: truncation is floor
        return self("Div", a, self.i(b))

    def mod(self, a, b):  # sign of the divisor, as Python's %
        return self("Mod", a, self.i(b), fmod=0)

    def add(self, a, b):
        return self("Add", a, b if isinstance(b, str) else self.i(b))

    def sub(self, a, b):
        return self("Sub", a, b if isinstance(b, str) else self.i(b))

    def mul(self, a, b):
        return self("Mul", a, b if isinstance(b, str) else self.i(b))

    def where(self, cond, a, b):
        return self("Where", cond, a if isinstance(a, str) else self.i(a), b if isinstance(b, str) else self.i(b))

    def cast(self, x, to: int):
        return self("Cast", x, to=to)


def days_from_civil_onnx(o: _Ops, y: str, m: str, d: str) -> str:
    """int64 [N] year ≥ 1, month 1-12, day → days since 1970-01-01 (Hinnant's days_from_civil)."""
    march = o("LessOrEqual", m, o.i(2))
    y = o.sub(y, o.cast(march, 7))
    era = o.div(y, 400)
    yoe = o.sub(y, o.mul(era, 400))
    shifted = o.add(m, o.where(march, 9, -3))
    doy = o.add(o.div(o.add(o.mul(shifted, 153), 2), 5), o.sub(d, 1))
    doe = o.add(o.add(o.mul(yoe, 365), o.div(yoe, 4)), o.sub(doy, o.div(yoe, 100)))
    return o.sub(o.add(o.mul(era, 146097), doe), 719468)


def civil_from_days_onnx(o: _Ops, days: str) -> tuple[str, str, str]:
    """int64 [N] days since 1970-01-01 (≥ -719162) → (year, month, day) (Hinnant's civil_from_days)."""
    z = o.add(days, 719468)
    era = o.div(z, 146097)
    doe = o.sub(z, o.mul(era, 146097))
    yoe = o.div(o.add(o.sub(doe, o.div(doe, 1460)), o.sub(o.div(doe, 36524), o.div(doe, 146096))), 365)
    y = o.add(yoe, o.mul(era, 400))
    doy = o.sub(doe, o.add(o.mul(yoe, 365), o.sub(o.div(yoe, 4), o.div(yoe, 100))))
    mp = o.div(o.add(o.mul(doy, 5), 2), 153)
    d = o.add(o.sub(doy, o.div(o.add(o.mul(mp, 153), 2), 5)), 1)
    m = o.add(mp, o.where(o("Less", mp, o.i(10)), 3, -9))
    y = o.add(y, o.cast(o("LessOrEqual", m, o.i(2)), 7))
    return y, m, d


def _fields_onnx(g, o: _Ops, raw: str, fmt: DateFormat, name: str) -> tuple[dict[str, str], str]:
    """string [N] → ({field letter: int64 [N]}, bool [N] shape ok)."""
    i64 = np.int64
    ok = g.op("RegexFullMatch", raw, name=f"{name}/shape_ok", pattern=fmt.pattern)
    blank = g.const(np.array("", dtype=object), "string", name=f"{name}/blank")
    # only rows of the right shape are tokenized: a hostile row of many digit runs cannot widen the batch
    shaped = g.op("Where", ok, raw, blank, name=f"{name}/shaped")
    runs = g.op(
        "Tokenizer",
        shaped,
        name=f"{name}/digits",
        domain="com.microsoft",
        tokenexp="[0-9]+",
        mark=0,
        pad_value="",
        mincharnum=1,
    )
    g.declare(runs, "string", ["N", f"{name}:digits"])
    k = len(fmt.fields)
    rows = g.op("Shape", raw, name=f"{name}/n", start=0, end=1)
    shape = g.op("Concat", rows, _c(g, [k], f"{name}/n_fields", i64), name=f"{name}/zeros_shape", axis=0)
    zero = g.const(np.array([["0"]], dtype=object), "string", name=f"{name}/zero_str")
    zeros = g.op("Expand", zero, shape, name=f"{name}/zeros")
    padded = g.op("Concat", runs, zeros, name=f"{name}/padded", axis=1)
    first = g.op(
        "Slice",
        padded,
        _c(g, [0], f"{name}/start", i64),
        _c(g, [k], f"{name}/stop", i64),
        _c(g, [1], f"{name}/axis", i64),
        name=f"{name}/first",
    )
    g.declare(first, "string", ["N", k])
    row_ok = g.op("Unsqueeze", ok, _c(g, [1], f"{name}/col", i64), name=f"{name}/row_ok")
    safe = g.op("Where", row_ok, first, zero, name=f"{name}/safe")  # wrong shape: no Cast of a long run
    empty = g.op("Equal", safe, blank, name=f"{name}/is_blank")
    safe = g.op("Where", empty, zero, safe, name=f"{name}/unblank")
    ints = o.cast(safe, 7)  # int64 [N, K]
    out = {}
    for j, f in enumerate(fmt.fields):
        out[f] = g.op("Gather", ints, _c(g, j, f"{name}/{f}_at", i64), name=f"{name}/{f}", axis=1)
    return out, ok


def _epoch_onnx(g, o: _Ops, raw: str, name: str) -> tuple[dict[str, str], str]:
    """string [N] seconds → ({Y, m, d, H, M, S: int64 [N]}, bool [N] valid)."""
    f64 = np.float64
    ok = g.op("RegexFullMatch", raw, name=f"{name}/number_ok", pattern=EPOCH_PATTERN)
    safe = g.op(
        "Where", ok, raw, g.const(np.array("0", dtype=object), "string", name=f"{name}/zero_str"), name=f"{name}/safe"
    )
    x = g.op("Floor", o.cast(safe, 11), name=f"{name}/floor")  # float64 seconds
    inside = o(
        "And",
        o("GreaterOrEqual", x, _c(g, EPOCH_MIN, f"{name}/min", f64)),
        o("Less", x, _c(g, EPOCH_END, f"{name}/end", f64)),
    )
    ok = o("And", ok, inside)
    x = o("Where", ok, x, _c(g, 0.0, f"{name}/zero", f64))
    days_f = g.op("Floor", o("Div", x, _c(g, 86400.0, f"{name}/day_s", f64)), name=f"{name}/days_f")
    secs = o.cast(o("Sub", x, o("Mul", days_f, _c(g, 86400.0, f"{name}/day_s2", f64))), 7)  # 0 ≤ secs < 86400
    days = o.cast(days_f, 7)
    y, m, d = civil_from_days_onnx(o, days)
    fields = {"Y": y, "m": m, "d": d, "H": o.div(secs, 3600), "M": o.div(o.mod(secs, 3600), 60), "S": o.mod(secs, 60)}
    return fields, ok


def parts_onnx(g, raw: str, fmt: DateFormat, name: str) -> tuple[dict[str, str], str]:
    """Emit string [N] → ({part: float32 [N], NaN where the value is not a valid date}, bool [N] valid).

    Every part of PARTS is emitted; unused ones are pruned by onnxruntime.
    """
    o = _Ops(g, name)
    if fmt.epoch:
        f, ok = _epoch_onnx(g, o, raw, name)
    else:
        f, ok = _fields_onnx(g, o, raw, fmt, name)
        for k, v in DEFAULTS.items():  # fields the format lacks: Python's defaults (1900-01-01 00:00:00)
            if k not in f:
                f[k] = g.op("Expand", o.i(v), g.op("Shape", raw, name=f"{name}/n_{k}"), name=f"{name}/default_{k}")
        leap = o(
            "Or",
            o("And", o("Equal", o.mod(f["Y"], 4), o.i(0)), o("Not", o("Equal", o.mod(f["Y"], 100), o.i(0)))),
            o("Equal", o.mod(f["Y"], 400), o.i(0)),
        )
        month_days = _c(g, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], f"{name}/month_days", np.int64)
        month_at = o("Clip", o.sub(f["m"], 1), o.i(0), o.i(11))
        dim = o.add(o("Gather", month_days, month_at, axis=0), o.cast(o("And", leap, o("Equal", f["m"], o.i(2))), 7))
        ok = o("And", ok, o("GreaterOrEqual", f["Y"], o.i(1)))
        ok = o("And", ok, o("LessOrEqual", f["d"], dim))
        ok = o("And", ok, o("LessOrEqual", f["S"], o.i(59)))
        # rows that are not dates compute on 1970-01-01 00:00:00, so the arithmetic stays in range
        for k, v in {"Y": 1970, "m": 1, "d": 1, "H": 0, "M": 0, "S": 0}.items():
            f[k] = o.where(ok, f[k], v)
    days = days_from_civil_onnx(o, f["Y"], f["m"], f["d"])
    one = o.where(ok, 1, 1)
    jan1 = days_from_civil_onnx(o, f["Y"], one, one)
    seconds = o.add(o.add(o.mul(f["H"], 3600), o.mul(f["M"], 60)), f["S"])
    f64 = np.float64
    elapsed = o("Add", o.cast(days, 11), o("Div", o.cast(seconds, 11), _c(g, 86400.0, f"{name}/day_s", f64)))
    ints = {
        "year": f["Y"],
        "month": f["m"],
        "day": f["d"],
        "weekday": o.mod(o.add(days, 3), 7),
        "day_of_year": o.add(o.sub(days, jan1), 1),
        "hour": f["H"],
        "minute": f["M"],
        "second": f["S"],
    }
    nan = _c(g, np.nan, f"{name}/nan", np.float32)
    out = {}
    for part in PARTS:
        value = o.cast(elapsed if part == "elapsed_days" else ints[part], 1)
        out[part] = g.op("Where", ok, value, nan, name=f"{name}/{part}")
    return out, ok


# ---- fitting: the same graph, run in onnxruntime ------------------------------------------------


@lru_cache(maxsize=8)
def _parse_session(fmt_text: str):
    import onnxruntime as ort

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.features.pregraph import session_options

    g = GraphBuilder("tk_date_parse")
    raw = g.input("date", "string", ["N"])
    parts, _ = parts_onnx(g, raw, compile_format(fmt_text), "date")
    for p in PARTS:
        g.op("Identity", parts[p], name=f"date/out_{p}", outputs=[p])
        g.output(p, "float32", ["N"])
    options = session_options()
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(g.build().SerializeToString(), options, providers=["CPUExecutionProvider"])


def parse(strings: np.ndarray, fmt_text: str) -> dict[str, np.ndarray]:
    """Run the ONNX date parser over `strings` [N]: {part: float32 [N], NaN where not a date}."""
    strings = np.asarray(strings, dtype=object)
    if len(strings) == 0:
        return {p: np.zeros(0, dtype=np.float32) for p in PARTS}
    outs = _parse_session(fmt_text).run(None, {"date": strings})
    return dict(zip(PARTS, outs))
