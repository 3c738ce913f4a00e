"""Date input feature: a date (and time) written one way per column → calendar parts.

    - {name: arrival, type: date}                                 # ISO 8601: 2024-01-31, 2024-01-31T10:20[:30[.5]]
    - {name: seen, type: date, preprocessing: {format: "%d/%m/%Y %H:%M", parts: [weekday, hour]}}
    - {name: ts, type: date, preprocessing: {format: epoch}}      # seconds since 1970 (read as a string)

Input preprocessing (ONNX, string [N] → float32 [N, W]; see toolkit.features.date_parse):
    parse (RegexFullMatch + Tokenizer + Cast + int64 calendar arithmetic)
    → per part (year, month, day, weekday, day_of_year, hour, minute, second,
      elapsed_days; by default every part the format has, or `preprocessing.parts`):
        missing → the part's training median, then the part's number encoding
        (toolkit.features.number: clamp to the training range, then piecewise-linear
        over quantile bins [N, T], or z-scored [N, 1])
        + sin and cos of 2π (value - first) / period for periodic parts ([N, 2]; `cyclical: false` drops them)
    → + one flag column, 1.0 where the value is missing or not a valid date.
A value that is empty, of the wrong shape, or not a date (Feb 30, month 13, year 0, a leap second
…:60, 1e30 seconds) is missing: never an error at prediction; such values are counted at training.
Encoder: the parts as they are (piecewise, passthrough) or a Linear + ReLU (dense).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from toolkit.errors import TkError
from toolkit.features.base import (
    EDGE_STRINGS,
    RAW_STRING,
    Accumulator,
    FeatureConfig,
    InputFeature,
    StrictModel,  # numpy, lazily
    np,
)
from toolkit.features.date_parse import CYCLES, EPOCH_END, EPOCH_MIN, PARTS, compile_format, parse, parts_onnx
from toolkit.features.number import (
    NumberAccumulator,
    NumberEncoder,
    NumberInput,
    NumberInputConfig,
    NumberPreprocessing,
)

Part = Literal["year", "month", "day", "weekday", "day_of_year", "hour", "minute", "second", "elapsed_days"]


class DatePreprocessing(StrictModel):
    format: str = Field(
        "iso", description="strptime-style (%Y %m %d %H %M %S %f), 'iso' or 'epoch' (seconds since 1970)."
    )
    parts: list[Part] | None = Field(None, description="Parts to encode; default: every part the format has.")
    cyclical: bool = Field(True, description="Add sin/cos of the periodic parts (month, weekday, hour, …).")

    @field_validator("format")
    @classmethod
    def _format_compiles(cls, v: str) -> str:
        compile_format(v)
        return v

    @model_validator(mode="after")
    def _parts_exist(self):
        if self.parts is not None:
            have = compile_format(self.format).parts
            lacking = [p for p in self.parts if p not in have]
            if lacking:
                raise ValueError(f"parts {lacking} need a time of day, which format {self.format!r} lacks")
            if not self.parts:
                raise ValueError("parts is empty: name at least one part or leave it out")
            if len(set(self.parts)) != len(self.parts):
                raise ValueError(f"parts {self.parts} names a part twice")
        return self


class DateEncoder(StrictModel):
    type: Literal["piecewise", "passthrough", "dense"] = "piecewise"
    bins: int = Field(8, ge=2, le=256, description="Quantile bins of each part's piecewise-linear encoding.")
    size: int = Field(16, gt=0, description="Output width of the dense encoder.")


class DateInputConfig(FeatureConfig):
    type: Literal["date"]
    preprocessing: DatePreprocessing = DatePreprocessing()
    encoder: DateEncoder = DateEncoder()


def render(fmt: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> str:
    """The fields written in format `fmt` (no validity check: year 0 or Feb 30 render too)."""
    if fmt == "epoch":
        return str((_days(y, m, d) * 86400) + hh * 3600 + mm * 60 + ss)
    if fmt == "iso":
        fmt = "%Y-%m-%d %H:%M:%S"
    values = {
        "Y": f"{y:04d}",
        "m": f"{m:02d}",
        "d": f"{d:02d}",
        "H": f"{hh:02d}",
        "M": f"{mm:02d}",
        "S": f"{ss:02d}",
        "f": "0",
        "%": "%",
    }
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            out.append(values[fmt[i + 1]])
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _days(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 (proleptic Gregorian, any fields): Hinnant's days_from_civil in Python."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


class DateAccumulator(Accumulator):
    """Parses each chunk with the ONNX graph, feeds each part to a number accumulator, counts the misses."""

    def __init__(self, feature: "DateInput"):
        super().__init__(feature)
        self.numbers = {p: NumberAccumulator(f) for p, f in feature.part_features().items()}
        self.unparsed, self.examples, self.example = 0, [], ""

    def update(self, column: np.ndarray) -> None:
        column = np.asarray(column, dtype=object)
        self.count(column)
        parts = parse(column, self.feature.config.preprocessing.format)
        for p, acc in self.numbers.items():
            acc.update(parts[p])
        bad = np.isnan(parts["year"])
        if not self.example and (~bad).any():
            self.example = str(column[np.argmax(~bad)])
        wrong = bad & (column != "")
        self.unparsed += int(wrong.sum())
        self.examples += [str(v)[:40] for v in column[wrong][: 3 - len(self.examples)]]

    def finish(self) -> "DateInput":
        f, fmt = self.feature, self.feature.config.preprocessing.format
        if not self.example:
            seen = f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else ""
            raise TkError(
                f"{f.where}: no value in the training split is a date in format {fmt!r}{seen}; "
                "set preprocessing.format or drop the feature"
            )
        if self.unparsed:
            from toolkit.common import log

            log.warn(
                f"{f.where}: {self.unparsed} value(s) are not dates in format {fmt!r} "
                f"(e.g. {', '.join(map(repr, self.examples))}); treated as missing"
            )
        f.numbers_ = {p: acc.finish() for p, acc in self.numbers.items()}
        f.unparsed_, f.example_ = self.unparsed, self.example
        return f


class DateInput(InputFeature):
    """A date column → calendar parts, each number-encoded, + cyclical sin/cos + a missing flag."""

    type = "date"
    raw_dtype = RAW_STRING
    pre_dtype = "float32"
    Config = DateInputConfig

    @property
    def parts(self) -> tuple[str, ...]:
        p = self.config.preprocessing
        return tuple(p.parts) if p.parts else compile_format(p.format).parts

    def part_features(self) -> dict[str, NumberInput]:
        """An unfitted number input per part (median fill; the date's encoder type and bins)."""
        e = self.config.encoder
        number_encoder = NumberEncoder(type="piecewise" if e.type == "piecewise" else "passthrough", bins=e.bins)
        return {
            p: NumberInput(
                NumberInputConfig(
                    name=f"{self.config.name}.{p}",
                    type="number",
                    encoder=number_encoder,
                    preprocessing=NumberPreprocessing(normalization="zscore", missing_value_strategy="median"),
                )
            )
            for p in _in_order(self.parts)
        }

    def accumulator(self) -> DateAccumulator:
        return DateAccumulator(self)

    def state(self) -> dict:
        return {
            "parts": {p: f.state() for p, f in self.numbers_.items()},
            "unparsed": self.unparsed_,
            "example": self.example_,
        }

    @classmethod
    def from_state(cls, config: DateInputConfig, state: dict) -> "DateInput":
        self = cls(config)
        blank = self.part_features()
        self.numbers_ = {p: NumberInput.from_state(blank[p].config, s) for p, s in state["parts"].items()}
        self.unparsed_, self.example_ = state["unparsed"], state["example"]
        return self

    def cyclical(self) -> list[str]:
        """The parts that get sin/cos columns."""
        return [p for p in self.numbers_ if p in CYCLES] if self.config.preprocessing.cyclical else []

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → float32 [N, pre_width()]: per part its number encoding, then sin/cos, then the flag."""
        n = self.config.name
        parts, ok = parts_onnx(g, raw, compile_format(self.config.preprocessing.format), f"{n}/parse")
        axis = g.const(np.array([1], dtype=np.int64), name=f"{n}/axis")
        columns, filled = [], {}
        for p, number in self.numbers_.items():
            isnan = g.op("IsNaN", parts[p], name=f"{n}/{p}_isnan")
            filled[p] = g.op(
                "Where",
                isnan,
                g.const(np.float32(number.fill_), name=f"{n}/{p}_median"),
                parts[p],
                name=f"{n}/{p}_impute",
            )
            columns.append(number.to_onnx(g, filled[p]))
        for p in self.cyclical():
            first, period = CYCLES[p]
            angle = g.op(
                "Mul",
                g.op("Sub", filled[p], g.const(np.float32(first), name=f"{n}/{p}_first"), name=f"{n}/{p}_from_first"),
                g.const(np.float32(2 * math.pi / period), name=f"{n}/{p}_radians"),
                name=f"{n}/{p}_angle",
            )
            for fn in ("Sin", "Cos"):
                columns.append(
                    g.op(
                        "Unsqueeze",
                        g.op(fn, angle, name=f"{n}/{p}_{fn.lower()}"),
                        axis,
                        name=f"{n}/{p}_{fn.lower()}_col",
                    )
                )
        flag = g.op("Cast", g.op("Not", ok, name=f"{n}/not_ok"), name=f"{n}/missing", to=1)
        columns.append(g.op("Unsqueeze", flag, axis, name=f"{n}/missing_col"))
        return g.op("Concat", *columns, name=f"{n}/parts", axis=1)

    def pre_width(self) -> int:
        """Columns of the preprocessed tensor."""
        return sum(f.output_width() for f in self.numbers_.values()) + 2 * len(self.cyclical()) + 1

    def output_width(self) -> int:
        e = self.config.encoder
        return e.size if e.type == "dense" else self.pre_width()

    def encoder(self):
        """float [N, pre_width()] → the same (piecewise, passthrough) or [N, size] (dense)."""
        from toolkit.nn.encoders import DenseEncoder, Passthrough

        e = self.config.encoder
        return DenseEncoder(self.pre_width(), e.size) if e.type == "dense" else Passthrough()

    def form_field(self, sample=None) -> dict:
        """A date (or date and time) picker; `format` says how to write the value sent to the model."""
        fmt = compile_format(self.config.preprocessing.format)
        control = "number" if fmt.epoch else ("datetime" if fmt.has_time else "date")
        return {"default": self.median_date(), "format": fmt.text, "control": control}

    def median_date(self) -> str:
        """The median training date, from the fitted statistics (never a training row: the web page that
        shows it is public), written in the column's format. From the elapsed_days part's median when the
        feature has it, else from each calendar part's median (a day past the month's end is its last)."""
        import datetime as dt

        fills = {p: float(f.fill_) for p, f in self.numbers_.items() if math.isfinite(float(f.fill_))}
        if "elapsed_days" in fills:
            seconds = min(max(round(fills["elapsed_days"] * 86400), EPOCH_MIN), EPOCH_END - 1)
            t = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
        else:
            year = min(max(round(fills.get("year", 2000)), 1), 9999)
            month = min(max(round(fills.get("month", 1)), 1), 12)
            last = (
                (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
                if year < 9999 or month < 12
                else 31
            )
            t = dt.datetime(
                year,
                month,
                min(max(round(fills.get("day", 1)), 1), last),
                *(
                    min(max(round(fills.get(p, 0)), 0), top)
                    for p, top in (("hour", 23), ("minute", 59), ("second", 59))
                ),
            )
        fmt = self.config.preprocessing.format
        if fmt == "iso" and (t.hour, t.minute, t.second) == (0, 0, 0):
            fmt = "%Y-%m-%d"
        return render(fmt, t.year, t.month, t.day, t.hour, t.minute, t.second)

    def edge_values(self) -> list:
        """Generic strings + Feb 30, month 13, year 0 and 9999, a leap second, 1e30, NaN in this format."""
        fmt = self.config.preprocessing.format
        dates = [
            render(fmt, 2024, 2, 30),
            render(fmt, 2023, 2, 29),
            render(fmt, 2024, 2, 29),
            render(fmt, 2024, 13, 1),
            render(fmt, 0, 1, 1),
            render(fmt, 1, 1, 1),
            render(fmt, 9999, 12, 31, 23, 59, 59),
            render(fmt, 2016, 12, 31, 23, 59, 60),
        ]
        return list(EDGE_STRINGS) + dates + ["1e30", "-1e30", "nan", "NaN", "inf", self.example_]

    def report_hints(self) -> dict:
        return {"values": "numeric"}


def _in_order(parts) -> list[str]:
    """`parts` in PARTS order, whatever order the config lists them in."""
    return [p for p in PARTS if p in parts]
