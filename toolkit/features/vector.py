r"""Vector input feature: a fixed-length list of numbers in one string, e.g. "0.5 1.25 -3" or "0.5,1.25,-3".

    - {name: embedding, type: vector}                                   # space-separated, size learned
    - {name: rgb, type: vector, preprocessing: {delimiter: ",", size: 3}}

The list is parsed inside the ONNX graph (toolkit.features.number_list_onnx.numbers_onnx, shared with
the timeseries type):
    RegexFullMatch(raw, LIST)           → bool [N]: numbers (NUMBER) between delimiters, spaces around
                                          them allowed, at least one number; else the row is missing
                                          (blanked before the Tokenizer)
    cut to the first cut_chars(size) characters (64 per number, in 1000s, at most 64,000; the
    text type's cut): a longer row is missing, and no hostile row can widen the batch
    Tokenizer(cut, NUMBER)              → the numbers as strings [N, D]
    → Cast (float64, then float32)      → values [N, W] (0 where absent), present [N, W], count [N]
A number is ASCII: an optional sign, ≤ 20 digits, an optional point and ≤ 20 digits, an optional
2-digit exponent ("1e5"); "nan", "inf", "1_000" are not numbers (so Cast never fails). Values beyond
float32 become ±inf and are clamped like numbers. The Python twin (tests' oracle) is
`[float(p) for p in s.split(d)]` with each piece stripped and matched to NUMBER (python_numbers),
for rows of at most cut_chars(size) characters.

Input preprocessing (ONNX, string [N] → float32 [N, size + 1]):
    parse → a row that is empty, not a list of numbers, or of another length than `size` is missing:
    every component gets its training mean; the last column is 1.0 for missing rows, else 0.0
    → per component: clamp to the training [min, max], then z-score (`normalization: none` skips it).
In the graph a wrong row is missing with the flag (a graph cannot raise an error). Before the graph,
as for numbers, tk's Python runtime (`tk predict`, toolkit.runtime.predictor.Predictor, the server) refuses a
present row that is not a list of `size` numbers (or longer than the cut_chars(size) characters the
graph reads) with an error naming the row
(toolkit.data.number_lists.ListColumn.first_bad); a list cell (Parquet list, JSON array) is joined into
the delimited string first. Other runtimes (Node, the browser page) read such a row as missing.
At training such rows are counted and reported. `size` defaults to the most common length in training.
Encoder: Linear + ReLU (dense) or the columns as they are (passthrough).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field

from toolkit.data.number_lists import MAX_LENGTH, ListColumn
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
from toolkit.features.number import (
    NumberAccumulator,
    NumberEncoder,
    NumberInput,
    NumberInputConfig,
    NumberPreprocessing,
)
from toolkit.features.number_list_onnx import ListPreprocessing, chunk_rows, cut_chars, numbers_onnx, parse_lists


class VectorPreprocessing(ListPreprocessing):
    size: int | None = Field(
        None, ge=1, le=MAX_LENGTH, description="Numbers per row; default: the most common length in training."
    )
    normalization: Literal["zscore", "none"] = "zscore"


class VectorEncoder(StrictModel):
    type: Literal["dense", "passthrough"] = "dense"
    size: int = Field(32, gt=0, description="Output width of the dense encoder.")


class VectorInputConfig(FeatureConfig):
    type: Literal["vector"]
    preprocessing: VectorPreprocessing = VectorPreprocessing()
    encoder: VectorEncoder = VectorEncoder()


def component(name: str, i: int) -> NumberInput:
    """An unfitted number input for one component (mean fill, z-score, no bins)."""
    return NumberInput(
        NumberInputConfig(
            name=f"{name}[{i}]",
            type="number",
            encoder=NumberEncoder(type="passthrough"),
            preprocessing=NumberPreprocessing(normalization="zscore", missing_value_strategy="mean"),
        )
    )


class VectorAccumulator(Accumulator):
    """Rows by length, and per length a number accumulator per component (so `size` can be chosen last)."""

    def __init__(self, feature: "VectorInput"):
        super().__init__(feature)
        self.lengths: Counter = Counter()
        self.numbers: dict[int, list[NumberAccumulator]] = {}
        self.examples: list[str] = []

    def update(self, column: np.ndarray) -> None:
        column = np.asarray(column, dtype=object)
        self.count(column)
        p = self.feature.config.preprocessing
        offset = 0
        for values, _present, count in parse_lists(column, p.delimiter):
            raw = column[offset : offset + len(count)]
            offset += len(count)
            bad = (count == 0) & (raw != "")
            self.examples += [str(v)[:40] for v in raw[bad][: 3 - len(self.examples)]]
            self.lengths.update(count[count > 0].tolist())
            for length in np.unique(count[(count > 0) & (count <= MAX_LENGTH)]).tolist():
                if p.size is not None and length != p.size:
                    continue
                rows = values[count == length, :length].astype(np.float64)
                accs = self.numbers.setdefault(
                    length, [NumberAccumulator(component(self.feature.config.name, i)) for i in range(length)]
                )
                for i, acc in enumerate(accs):
                    acc.update(rows[:, i])

    def finish(self) -> "VectorInput":
        f, p = self.feature, self.feature.config.preprocessing
        size = p.size or min(
            (n for n in self.lengths if n <= MAX_LENGTH), key=lambda n: (-self.lengths[n], n), default=None
        )
        if size is None or size not in self.numbers:
            seen = f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else ""
            raise TkError(f"{f.where}: no row of the training split is a list of {p.size or 'some'} numbers{seen}")
        fitted = [acc.finish() for acc in self.numbers[size]]
        f.size_ = size
        f.fill_ = [c.fill_ for c in fitted]
        f.min_, f.max_ = [c.min_ for c in fitted], [c.max_ for c in fitted]
        f.shift_ = [c.shift_ for c in fitted] if p.normalization == "zscore" else [0.0] * size
        f.scale_ = [c.scale_ for c in fitted] if p.normalization == "zscore" else [1.0] * size
        f.wrong_ = self.present - self.lengths[size]
        if f.wrong_:
            from toolkit.common import log

            log.warn(
                f"{f.where}: {f.wrong_} value(s) are not lists of {size} numbers"
                + (f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else "")
                + "; treated as missing"
            )
        return f


class VectorInput(InputFeature):
    """A list of `size` numbers in one string → z-scored components + a missing flag → dense."""

    type = "vector"
    raw_dtype = RAW_STRING
    pre_dtype = "float32"
    Config = VectorInputConfig

    @property
    def max_chunk_rows(self) -> int:
        """Rows per onnxruntime call: the numbers of a cut row times the rows stay under MAX_CHUNK_TOKENS."""
        return chunk_rows(getattr(self, "size_", 1))

    @property
    def list_column(self) -> ListColumn:
        """Lists of `size_` numbers (before fitting: of the configured size, if any)."""
        size = getattr(self, "size_", self.config.preprocessing.size)
        return ListColumn(self.config.preprocessing.delimiter, size, cut_chars(size) if size is not None else None)

    def accumulator(self) -> VectorAccumulator:
        return VectorAccumulator(self)

    def state(self) -> dict:
        return {
            "size": self.size_,
            "fill": self.fill_,
            "min": self.min_,
            "max": self.max_,
            "shift": self.shift_,
            "scale": self.scale_,
            "wrong": self.wrong_,
        }

    @classmethod
    def from_state(cls, config: VectorInputConfig, state: dict) -> "VectorInput":
        self = cls(config)
        self.size_, self.fill_, self.min_, self.max_ = state["size"], state["fill"], state["min"], state["max"]
        self.shift_, self.scale_, self.wrong_ = state["shift"], state["scale"], state["wrong"]
        return self

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → float32 [N, size + 1]: clamped, z-scored components, then the missing flag."""
        n, f32 = self.config.name, np.float32
        values, _, count, whole = numbers_onnx(g, raw, self.config.preprocessing.delimiter, self.size_, n)
        ok = g.op(
            "And",
            whole,
            g.op("Equal", count, g.const(np.array(self.size_, dtype=np.int64), name=f"{n}/size"), name=f"{n}/size_ok"),
            name=f"{n}/ok",
        )
        row_ok = g.op("Unsqueeze", ok, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/row_ok")
        filled = g.op(
            "Where", row_ok, values, g.const(np.array(self.fill_, dtype=f32), name=f"{n}/fill"), name=f"{n}/impute"
        )
        clamped = g.op(  # per-component bounds: Clip takes scalars only
            "Min",
            g.op("Max", filled, g.const(np.array(self.min_, dtype=f32), name=f"{n}/min"), name=f"{n}/lo"),
            g.const(np.array(self.max_, dtype=f32), name=f"{n}/max"),
            name=f"{n}/hi",
        )
        scaled = g.op(
            "Div",
            g.op("Sub", clamped, g.const(np.array(self.shift_, dtype=f32), name=f"{n}/shift"), name=f"{n}/sub"),
            g.const(np.array(self.scale_, dtype=f32), name=f"{n}/scale"),
            name=f"{n}/div",
        )
        flag = g.op("Cast", g.op("Not", row_ok, name=f"{n}/not_ok"), name=f"{n}/missing", to=1)
        return g.op("Concat", scaled, flag, name=f"{n}/with_flag", axis=1)

    def output_width(self) -> int:
        e = self.config.encoder
        return e.size if e.type == "dense" else self.size_ + 1

    def encoder(self):
        """float [N, size + 1] → [N, encoder.size] (dense) or the same (passthrough)."""
        from toolkit.nn.encoders import DenseEncoder, Passthrough

        e = self.config.encoder
        return DenseEncoder(self.size_ + 1, e.size) if e.type == "dense" else Passthrough()

    def form_field(self, sample=None) -> dict:
        """A text box holding `size` numbers (the training means), written with the delimiter."""
        d = self.config.preprocessing.delimiter
        return {"default": (d or " ").join(f"{v:.6g}" for v in self.fill_), "size": self.size_, "delimiter": d or " "}

    def edge_values(self) -> list:
        """Generic strings + wrong lengths, NaN and inf inside the list, huge numbers, the means."""
        d = self.config.preprocessing.delimiter or " "
        ok = [f"{v:.6g}" for v in self.fill_]
        return list(EDGE_STRINGS) + [
            d.join(ok),
            d.join(ok[:-1]),
            d.join(ok + ["1"]),
            d.join(["nan"] + ok[1:]),
            d.join(["inf"] + ok[1:]),
            d.join(["1e99"] + ok[1:]),
            d.join(["-1e30"] + ok[1:]),
            d.join(ok) + d,
            "[" + ", ".join(ok) + "]",
        ]

    def report_hints(self) -> dict:
        return {"values": "numeric"}
