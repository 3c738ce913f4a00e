"""What every feature type has in common: config base classes, the feature base classes, accumulators.

A feature module (number.py, category.py, …) holds everything about one type:
its pydantic config, how it is fitted (an accumulator, chunk by chunk), its
JSON `state`, the ONNX nodes that turn the raw column into model-ready
tensors (`to_onnx`), the torch encoder or decoder, and the answers other
parts of tk need from it (web form field, hostile values for the parity
check, report hints). Nobody else switches on a feature's `type`.

Fitting, one way for in-memory and streamed data (scikit-learn's partial_fit,
split in two so a pass can span files):

    acc = feature.accumulator()
    for p in range(acc.passes):          # text needs 2 (document frequencies)
        for column in chunks_of_training_rows:
            acc.update(column)
        acc.end_pass()
    acc.finish()                          # sets the learned attributes (ending in _)

`feature.fit(column)` is exactly that over one chunk. Nothing here imports
torch; feature modules import it inside the methods that need it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from toolkit.data.raw_types import RAW_FLOAT, RAW_STRING  # noqa: F401  (re-exported: what a raw column arrives as)


class _LazyNumpy:
    """numpy, imported on first use: `tk config render` reads feature configs
    from these modules and must not pay ~0.2 s for numpy it never touches."""

    def __getattr__(self, name: str):
        import numpy

        return getattr(numpy, name)


np = _LazyNumpy()


#: Hostile raw values every parity check feeds through the exported file.
EDGE_FLOATS = [float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1e30, -1e30, 3.4e38, 1e-30, 42.0]
EDGE_STRINGS = [
    "",
    " ",
    "  \t ",
    "never-seen-before",
    "Ünïcödé façade",
    "日本語のテキスト",
    "x" * 10_000,
    "<b>html</b><br />",
    "0",
    "1",
    "yes",
    "NO",
    "😀",
]

#: Distinct raw values (or tokens) an accumulator counts per column before the rarest half is dropped.
MAX_DISTINCT = 1_000_000


class StrictModel(BaseModel):
    """A config block that refuses unknown keys (typos are errors, not ignored)."""

    model_config = ConfigDict(extra="forbid")


class FeatureConfig(StrictModel):
    """Keys shared by every input and output feature."""

    name: str = Field(min_length=1, description="Feature name; also the column unless `column` is set.")
    column: str | None = Field(None, description="Column in the data; defaults to `name`.")

    @property
    def source(self) -> str:
        """The column this feature reads."""
        return self.column or self.name


class OutputFeatureConfig(FeatureConfig):
    """Keys shared by every output feature."""

    loss_weight: float = Field(1.0, gt=0, description="Weight of this output's loss in the total.")


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a raw value is missing: NaN for floats, "" for strings. bool [N]."""
    return np.isnan(values) if values.dtype.kind == "f" else values == ""


def known_rows(y: np.ndarray) -> np.ndarray:
    """bool [N]: rows whose encoded target [N] or [N, C] is known (holds no NaN)."""
    return ~np.isnan(y) if y.ndim == 1 else ~np.isnan(y).reshape(len(y), -1).any(axis=1)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function in float64, the numpy twin of the graph's Sigmoid."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


# ---- accumulators ------------------------------------------------------------------------------


class Accumulator:
    """Fits one feature from chunks of its training column; `finish()` sets the feature's state.

    Subclasses implement `update` and `finish`; `passes` > 1 asks the caller
    to run the chunks again (`end_pass()` comes after each pass).
    """

    passes: int = 1

    def __init__(self, feature):
        self.feature = feature
        self.rows = 0  # rows seen in the first pass
        self.present = 0  # of which not missing
        self.pass_no = 0

    def update(self, column: np.ndarray) -> None:
        """Take one chunk of the training column [n] (raw dtype)."""
        raise NotImplementedError

    def count(self, column: np.ndarray) -> None:
        """Bookkeeping of the first pass: rows and non-missing values (for 'every value is missing')."""
        if self.pass_no == 0:
            self.rows += len(column)
            self.present += int((~self.feature.missing(column)).sum())

    def end_pass(self) -> None:
        self.pass_no += 1

    def finish(self):
        """Set the feature's learned attributes; returns the feature."""
        raise NotImplementedError


def prune(counts: Counter, where: str, warned: set) -> Counter:
    """`counts`, or its MAX_DISTINCT // 2 most frequent keys when it has grown past MAX_DISTINCT."""
    if len(counts) <= MAX_DISTINCT:
        return counts
    if where not in warned:
        from toolkit.common import log

        log.warn(
            f"{where}: more than {MAX_DISTINCT} distinct values; counting only the most frequent "
            "(rare values may be undercounted)"
        )
        warned.add(where)
    return Counter(dict(counts.most_common(MAX_DISTINCT // 2)))


def rank(counts: Counter, min_count: int = 1, max_size: int | None = None) -> list[str]:
    """Keys seen at least `min_count` times, most frequent first, ties alphabetically, "" never;
    the first `max_size`. The one vocabulary rule of category, set and text features."""
    kept = sorted((k for k, c in counts.items() if c >= min_count and k != ""), key=lambda k: (-counts[k], k))
    return kept[:max_size]


class CountsAccumulator(Accumulator):
    """{raw value: rows} of a string column, handed to the feature's `fit_counts` (category, binary, set)."""

    def __init__(self, feature):
        super().__init__(feature)
        self.counts, self.warned = Counter(), set()

    def update(self, column: np.ndarray) -> None:
        self.count(column)
        self.counts.update(np.asarray(column, dtype=object).tolist())
        self.counts = prune(self.counts, self.feature.where, self.warned)

    def finish(self):
        return self.feature.fit_counts(self.counts)


# ---- features ----------------------------------------------------------------------------------


class Feature:
    """What inputs and outputs share: config, fitting through the accumulator, JSON state."""

    type: ClassVar[str]
    Config: ClassVar[type]
    raw_dtype: ClassVar[str]  # RAW_FLOAT or RAW_STRING
    kind: ClassVar[str]  # "input" or "output", for messages

    def __init__(self, config):
        self.config = config  # scikit-learn's rule: __init__ stores, fit learns

    @property
    def where(self) -> str:
        """Names the feature in messages: column 'x' (input feature 'x')."""
        return f"column {self.config.source!r} ({self.kind} feature {self.config.name!r})"

    def accumulator(self) -> Accumulator:
        """A fresh accumulator that fits this feature chunk by chunk."""
        raise NotImplementedError

    def fit(self, column: np.ndarray):
        """Fit on the whole training column [N]: the accumulator over one chunk."""
        acc = self.accumulator()
        for _ in range(acc.passes):
            acc.update(column)
            acc.end_pass()
        return acc.finish()

    def missing(self, column: np.ndarray) -> np.ndarray:
        """bool [N]: rows whose raw value is missing."""
        return missing_mask(column)

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_state(cls, config, state: dict):
        raise NotImplementedError

    def edge_values(self) -> list:
        """Hostile raw values for the parity check: the generic ones plus known-good ones of this feature."""
        return list(EDGE_FLOATS if self.raw_dtype == RAW_FLOAT else EDGE_STRINGS)


class InputFeature(Feature):
    """An input: raw column [N] → `to_onnx` → model-ready tensor [N, …] → `encoder()` → [N, width]."""

    kind = "input"
    pre_dtype: ClassVar[str] = "float32"  # element type of the preprocessed tensor
    max_chunk_rows: ClassVar[int | None] = None  # rows per onnxruntime call, when a type needs fewer
    #: How the trees of a GBM read the pre tensor: "numeric" columns, one "categorical" id column
    #: (0 = missing), or None: trees cannot read it, and `tree_refusal` says why (toolkit.models asks).
    tree_input: ClassVar[str | None] = "numeric"
    tree_refusal: ClassVar[str] = ""

    @property
    def list_column(self):
        """toolkit.data.number_lists.ListColumn when the raw column holds lists of numbers (vector, timeseries:
        list cells are joined into the string the graph parses); None for every other type."""
        return None

    def to_onnx(self, g, raw: str) -> str:
        """Emit the preprocessing nodes on GraphBuilder `g`; returns the name of the [N, …] tensor."""
        raise NotImplementedError

    def output_width(self) -> int:
        """Width of the encoder's output."""
        raise NotImplementedError

    def encoder(self):
        """The torch module: preprocessed tensor [N, …] → [N, output_width()]."""
        raise NotImplementedError

    def form_field(self, sample: np.ndarray | None = None) -> dict:
        """Type-specific keys of this input's control on the web page (`tk export --web`).

        `sample`: some training values of the column, or None. Always holds "default".
        """
        return {"default": "" if self.raw_dtype == RAW_STRING else 0.0}

    def report_hints(self) -> dict:
        """What `tk report` should know of this input: {"values": "numeric" | "categorical" | "text"}."""
        return {"values": "numeric" if self.raw_dtype == RAW_FLOAT else "categorical"}


class OutputFeature(Feature):
    """An output: raw target → `encode_target` → decoder → loss; `predict` / `score`; `to_onnx_post`."""

    kind = "output"
    metric_names: ClassVar[tuple[str, ...]]
    default_metric: ClassVar[str]
    #: the metric `tk report`'s permutation importance drops (higher is better)
    importance_metric: ClassVar[str]

    def encode_target(self, column: np.ndarray) -> np.ndarray:
        """Raw targets [N] → float32 [N] or [N, C]; NaN where unknown."""
        raise NotImplementedError

    def decoder(self, d_in: int, k: int = 1):
        """[N, d_in] → the raw output; with k ensemble members [N, k, d_in] → [N, k, …] (one head each)."""
        raise NotImplementedError

    def loss(self):
        """(decoder output, encoded target) → scalar torch loss."""
        raise NotImplementedError

    def predict(self, raw: np.ndarray) -> dict[str, np.ndarray]:
        """Decoder output → {"label" | "value" | "probabilities": …} (no name prefix)."""
        raise NotImplementedError

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs (`<name>::…`) and encoded targets `y`."""
        raise NotImplementedError

    def score_raw(self, y: np.ndarray, raw: np.ndarray) -> dict[str, float]:
        """Metrics from decoder outputs: `score` over `predict`, so both engines are scored alike."""
        n = self.config.name
        return self.score(y, {f"{n}::{k}": v for k, v in self.predict(raw).items()})

    def to_onnx_post(self, g, raw: str) -> dict[str, tuple[str, list]]:
        """Emit the post-processing nodes; returns {output name: (dtype, shape)}."""
        raise NotImplementedError

    def importance_score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> float:
        """`score(y, outputs)[importance_metric]`, computed alone (a report scores thousands of shuffles)."""
        return self.score(y, outputs)[self.importance_metric]

    @property
    def classes(self) -> list[str] | None:
        """Class names of a classification output, else None."""
        return None

    @property
    def threshold(self) -> float | None:
        """The probability at or above which a label is given (binary, set), else None."""
        return None

    def explain_score(self, raw):
        """The score attributions explain (toolkit.export.explain), a linear function of the raw output:
        the raw output itself (logits) unless that is a rescaled value."""
        return raw

    def fit_post(self, y: np.ndarray, raw: np.ndarray) -> dict | None:
        """After training: fit what is fitted on the validation rows' decoder outputs `raw` and known
        targets `y` (calibration, a threshold); returns what to report in training_stats.json, or None."""
        return None

    #: the plots `tk report` draws for this output (names in toolkit.report.build.PLOTS)
    report_plots: ClassVar[tuple[str, ...]] = ()
