r"""Time series input feature: a variable-length list of numbers in one string, e.g. "3 5 2.5 7".

    - {name: last_readings, type: timeseries}                           # space-separated, window learned
    - {name: sales, type: timeseries, preprocessing: {delimiter: ",", max_length: 24}, encoder: {type: gru}}

Input preprocessing (ONNX, string [N] → float32 [N, 2L]; L = `max_length`):
    parse as the vector type does (toolkit.features.number_list_onnx.numbers_onnx: RegexFullMatch on the whole
    row, then Tokenizer and Cast on its first cut_chars(L) characters: 64 per number), keeping the
    first L numbers → a row that is empty or not a list of numbers is the empty series
    → each value clamped to the training [min, max] and z-scored with the training mean and std
      (one scale for all positions), 0.0 after the end → values [N, L]
    → then the mask [N, L]: 1.0 at a value, 0.0 at padding. Output: values ‖ mask.
Rows that are not lists are counted at training and read as the empty series by the graph; tk's
Python runtime refuses them at prediction with an error naming the row, as for vectors (list cells:
Parquet lists, JSON arrays, are joined first). It also refuses a row longer than `max_chars`
characters (default 100,000; the graph reads at most the first 64,000), before reading it. `max_length` defaults to the longest training series
(at most 1000).

Encoders (float [N, 2L] → [N, output_width()]):
- summary (default, cheap): mean, std, min, max, first and last value and the length (over the
  present values; zeros for an empty series), with the padded values and mask, through Linear + ReLU.
- cnn, gru, transformer: each value projected to `dim` (Linear(1, dim), zero at padding), then the
  layers of toolkit.nn.sequence (ParallelCNN's convolutions with the max over valid windows; a
  bidirectional GRU; SelfAttentionBlock with padded keys masked), pooled with text_encoders.Pool
  over the present positions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from toolkit.data.number_lists import SERIES_MAX_CHARS, ListColumn
from toolkit.errors import TkError
from toolkit.features.base import EDGE_STRINGS, RAW_STRING, Accumulator, FeatureConfig, InputFeature, StrictModel, np
from toolkit.features.number import NumberAccumulator
from toolkit.features.number_list_onnx import ListPreprocessing, chunk_rows, numbers_onnx, parse_lists
from toolkit.features.vector import MAX_LENGTH, component


class TimeseriesPreprocessing(ListPreprocessing):
    max_length: int | None = Field(
        None, ge=1, le=MAX_LENGTH, description="Values kept per row (the first ones); default: the longest in training."
    )
    max_chars: int = Field(
        SERIES_MAX_CHARS,
        ge=1,
        le=10_000_000,
        description="Longest row (characters) tk's runtime reads: a longer row is an error "
        "naming it at prediction (4xx in the server), and counted at training.",
    )


class TimeseriesEncoder(StrictModel):
    type: Literal["summary", "cnn", "gru", "transformer"] = "summary"
    size: int = Field(32, gt=0, description="summary: output width.")
    dim: int = Field(16, gt=0, description="cnn, gru, transformer: width of each projected value.")
    filters: int = Field(16, gt=0, description="cnn: filters per kernel size.")
    kernel_sizes: list[int] = Field([3, 5], min_length=1, description="cnn: widths of the convolutions.")
    hidden_size: int = Field(16, gt=0, description="gru: hidden units per direction.")
    num_heads: int = Field(2, gt=0, description="transformer: attention heads (dim must be a multiple).")
    num_layers: int = Field(1, ge=1, le=8)
    dropout: float = Field(0.0, ge=0, lt=1)


class TimeseriesInputConfig(FeatureConfig):
    type: Literal["timeseries"]
    preprocessing: TimeseriesPreprocessing = TimeseriesPreprocessing()
    encoder: TimeseriesEncoder = TimeseriesEncoder()


class TimeseriesAccumulator(Accumulator):
    """Every value of every list through one number accumulator; lengths counted for `max_length`."""

    def __init__(self, feature: "TimeseriesInput"):
        super().__init__(feature)
        self.values = NumberAccumulator(component(feature.config.name, 0))
        self.longest, self.bad, self.examples, self.too_long = 0, 0, [], 0

    def update(self, column: np.ndarray) -> None:
        column = np.asarray(column, dtype=object)
        self.count(column)
        chars = self.feature.config.preprocessing.max_chars
        self.too_long += sum(len(s) > chars for s in column.tolist() if isinstance(s, str))
        limit = self.feature.config.preprocessing.max_length or MAX_LENGTH
        offset = 0
        for values, present, count in parse_lists(column, self.feature.config.preprocessing.delimiter):
            raw = column[offset : offset + len(count)]
            offset += len(count)
            bad = (count == 0) & (raw != "")
            self.bad += int(bad.sum())
            self.examples += [str(v)[:40] for v in raw[bad][: 3 - len(self.examples)]]
            self.longest = max(self.longest, int(count.max(initial=0)))
            window = present[:, :limit]
            self.values.update(values[:, :limit][window].astype(np.float64))

    def finish(self) -> "TimeseriesInput":
        f = self.feature
        if self.values.n == 0:
            seen = f" (e.g. {', '.join(map(repr, self.examples))})" if self.examples else ""
            raise TkError(f"{f.where}: no row of the training split is a list of numbers{seen}")
        fitted = self.values.finish()
        f.max_length_ = f.config.preprocessing.max_length or min(self.longest, MAX_LENGTH)
        f.min_, f.max_, f.shift_, f.scale_ = fitted.min_, fitted.max_, fitted.shift_, fitted.scale_
        f.bad_ = self.bad
        if self.bad:
            from toolkit.common import log

            log.warn(
                f"{f.where}: {self.bad} value(s) are not lists of numbers (e.g. "
                f"{', '.join(map(repr, self.examples))}); read as empty series"
            )
        if self.too_long:
            from toolkit.common import log

            log.warn(
                f"{f.where}: {self.too_long} row(s) longer than preprocessing.max_chars="
                f"{f.config.preprocessing.max_chars} characters; tk's runtime refuses such rows at prediction"
            )
        return f


class TimeseriesInput(InputFeature):
    """A list of numbers → the first L values, z-scored, with their mask → a sequence encoder."""

    type = "timeseries"
    raw_dtype = RAW_STRING
    pre_dtype = "float32"
    Config = TimeseriesInputConfig

    @property
    def max_chunk_rows(self) -> int:
        """Rows per onnxruntime call (see toolkit.features.number_list_onnx.chunk_rows)."""
        return chunk_rows(getattr(self, "max_length_", 1))

    @property
    def list_column(self) -> ListColumn:
        """Lists of any length (rows longer than max_length are cut in the graph), of at most
        `max_chars` characters (a longer row is refused before the graph)."""
        p = self.config.preprocessing
        return ListColumn(p.delimiter, None, p.max_chars)

    def accumulator(self) -> TimeseriesAccumulator:
        return TimeseriesAccumulator(self)

    def state(self) -> dict:
        return {
            "max_length": self.max_length_,
            "min": self.min_,
            "max": self.max_,
            "shift": self.shift_,
            "scale": self.scale_,
            "bad": self.bad_,
        }

    @classmethod
    def from_state(cls, config: TimeseriesInputConfig, state: dict) -> "TimeseriesInput":
        self = cls(config)
        self.max_length_, self.min_, self.max_ = state["max_length"], state["min"], state["max"]
        self.shift_, self.scale_, self.bad_ = state["shift"], state["scale"], state["bad"]
        return self

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → float32 [N, 2L]: z-scored values (0 at padding), then the mask."""
        n, f32 = self.config.name, np.float32
        values, present, _, _ = numbers_onnx(g, raw, self.config.preprocessing.delimiter, self.max_length_, n)
        clamped = g.op(
            "Clip",
            values,
            g.const(f32(self.min_), name=f"{n}/min"),
            g.const(f32(self.max_), name=f"{n}/max"),
            name=f"{n}/clamp",
        )
        scaled = g.op(
            "Div",
            g.op("Sub", clamped, g.const(f32(self.shift_), name=f"{n}/shift"), name=f"{n}/sub"),
            g.const(f32(self.scale_), name=f"{n}/scale"),
            name=f"{n}/div",
        )
        mask = g.op("Cast", present, name=f"{n}/mask", to=1)
        kept = g.op("Mul", scaled, mask, name=f"{n}/zero_padding")
        return g.op("Concat", kept, mask, name=f"{n}/values_mask", axis=1)

    def output_width(self) -> int:
        e = self.config.encoder
        if e.type == "summary":
            return e.size
        if e.type == "cnn":
            return e.filters * len(e.kernel_sizes)
        if e.type == "gru":
            return 2 * e.hidden_size
        return e.dim

    def encoder(self):
        """float [N, 2L] → [N, output_width()] (see the module docstring)."""
        e, length = self.config.encoder, self.max_length_
        from toolkit.nn.series import ENCODERS as classes

        if e.type == "summary":
            return classes["summary"](length, e.size, e.dropout)
        if e.type == "cnn":
            return classes["cnn"](e.dim, e.filters, e.kernel_sizes, e.dropout)
        if e.type == "gru":
            return classes["gru"](e.dim, e.hidden_size, e.num_layers, e.dropout)
        return classes["transformer"](e.dim, length, e.num_layers, e.num_heads, e.dropout)

    def form_field(self, sample=None) -> dict:
        d = self.config.preprocessing.delimiter or " "
        return {"default": "", "delimiter": d, "max_length": self.max_length_, "placeholder": d.join(["1", "2", "3"])}

    def edge_values(self) -> list:
        d = self.config.preprocessing.delimiter or " "
        return list(EDGE_STRINGS) + [
            d.join(["1"] * (self.max_length_ + 5)),
            d.join(["nan", "1"]),
            d.join(["inf", "2"]),
            d.join(["1e99", "-1e99"]),
            d.join(["1", "", "2"]),
            f"{self.min_:.6g}",
            f"{self.max_:.6g}",
            d.join(["3.5"] * 3) + d,
        ]

    def report_hints(self) -> dict:
        return {"values": "numeric"}
