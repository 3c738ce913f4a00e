"""Set input and output features: delimiter-separated members, e.g. "sauce, vegan,gift".

Members: the raw string is cut at `delimiter` (one character, default ","),
each piece is stripped of the spaces \\t \\n \\f \\r and " " around it, and
empty pieces are dropped; members are then compared as they are (optionally
lowercased first). Repeated members count once; unknown members are ignored.
A missing value ("") is the empty set, for inputs and for targets. There is no strip op in ONNX, so the
cut-and-strip is one com.microsoft Tokenizer whose matches are the stripped
pieces: `[^D WS](?:[^D]*[^D WS])?` (MEMBER_PATTERN), whose Python twin is
`[p.strip(WS) for p in s.split(D) if p.strip(WS)]` (python_members).

Input preprocessing (ONNX, string [N] → float32 [N, V] multi-hot):
    optional StringNormalizer(lower) → Tokenizer(MEMBER_PATTERN) [N, D]
    → LabelEncoder (padding "" → 0, unknown → 1, vocabulary → 2…)
    → ScatterElements(reduction max) of 1.0 into zeros [N, V + 2] → Slice off 0 and 1.
Encoder: the sum of the members' embeddings (a Linear), or the multi-hot vector.
Output (multi-label): one logit per member, sigmoid, threshold; BCE loss;
Jaccard (per row), micro and macro F1.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field

from toolkit.errors import TkError
from toolkit.features.base import (
    RAW_STRING,
    CountsAccumulator,
    FeatureConfig,
    InputFeature,
    OutputFeature,
    OutputFeatureConfig,  # numpy, lazily
    StrictModel,
    np,
    rank,
    sigmoid,
)
from toolkit.features.text_tokens import python_lower, tokenize, tokens_to_onnx

SPACES = "\t\n\f\r "
PAD_ID, UNKNOWN_ID, FIRST_ID = 0, 1, 2


class SetPreprocessing(StrictModel):
    delimiter: str = Field(
        ",",
        min_length=1,
        max_length=1,
        description="The one character between members; spaces around members are dropped.",
    )
    lowercase: bool = False
    min_count: int = Field(1, ge=1, description="Members seen fewer times in training are ignored.")
    max_size: int = Field(1000, gt=0, description="Keep at most this many most frequent members.")


class SetEncoder(StrictModel):
    type: Literal["embed", "multi_hot"] = "embed"
    dim: int = Field(32, gt=0, description="embed: output width (sum of member embeddings).")
    dropout: float = Field(0.0, ge=0, lt=1)


class SetInputConfig(FeatureConfig):
    type: Literal["set"]
    preprocessing: SetPreprocessing = SetPreprocessing()
    encoder: SetEncoder = SetEncoder()


class SetOutputConfig(OutputFeatureConfig):
    type: Literal["set"]
    preprocessing: SetPreprocessing = SetPreprocessing()
    threshold: float = Field(0.5, gt=0, lt=1, description="Probability at or above which a member is predicted.")


def member_pattern(delimiter: str) -> str:
    """RE2 pattern whose matches are the stripped, non-empty pieces between delimiters."""
    d = f"\\x{{{ord(delimiter):x}}}"
    outside = f"[^{d}\\t\\n\\f\\r ]"
    return f"{outside}(?:[^{d}]*{outside})?"


def python_members(s: str, delimiter: str, lowercase: bool = False) -> list[str]:
    """The Python twin of the ONNX member split (test oracle)."""
    s = python_lower(s) if lowercase else s
    return [p.strip(SPACES) for p in s.split(delimiter) if p.strip(SPACES)]


def split_members(column: np.ndarray, p: SetPreprocessing) -> list[list[str]]:
    """Members of each row, in order, by the same ONNX Tokenizer the graph uses."""
    column = np.asarray(column, dtype=object)
    out: list[list[str]] = [[] for _ in range(len(column))]
    for rows, tokens in tokenize(column, member_pattern(p.delimiter), p.lowercase):
        for r, row in zip(rows.tolist(), tokens.tolist()):
            out[r] = [t for t in row if t]
    return out


def members_from_counts(values: Counter, p: SetPreprocessing) -> list[str]:
    """Members by descending number of rows that hold them, then alphabetically, from {raw value: rows}."""
    distinct = list(values)
    counts: Counter = Counter()
    for v, row in zip(distinct, split_members(np.array(distinct, dtype=object), p)):
        for m in set(row):
            counts[m] += values[v]
    return rank(counts, p.min_count, p.max_size)


def multi_hot_onnx(g, raw: str, p: SetPreprocessing, vocab: list[str], name: str) -> str:
    """Emit string [N] → float32 [N, len(vocab)] (1.0 where the member is present)."""
    from toolkit.common.onnxgraph import tensor
    from toolkit.features.text_tokens import lookup_onnx

    i64 = np.int64
    members = tokens_to_onnx(g, raw, member_pattern(p.delimiter), p.lowercase, name)
    ids = lookup_onnx(g, members, vocab, FIRST_ID, UNKNOWN_ID, f"{name}/ids")  # [N, D]
    rows = g.op("Shape", ids, name=f"{name}/rows", start=0, end=1)
    shape = g.op(
        "Concat",
        rows,
        g.const(np.array([FIRST_ID + len(vocab)], dtype=i64), name=f"{name}/width"),
        name=f"{name}/shape",
        axis=0,
    )
    zeros = g.op(
        "ConstantOfShape", shape, name=f"{name}/zeros", value=tensor("value", np.array([0.0], dtype=np.float32))
    )
    ids_shape = g.op("Shape", ids, name=f"{name}/ids_shape")
    ones = g.op(
        "ConstantOfShape", ids_shape, name=f"{name}/ones", value=tensor("value", np.array([1.0], dtype=np.float32))
    )
    hot = g.op("ScatterElements", zeros, ids, ones, name=f"{name}/scatter", axis=1, reduction="max")
    return g.op(
        "Slice",
        hot,
        g.const(np.array([FIRST_ID], dtype=i64), name=f"{name}/first"),
        g.const(np.array([FIRST_ID + len(vocab)], dtype=i64), name=f"{name}/last"),
        g.const(np.array([1], dtype=i64), name=f"{name}/axis"),
        name=f"{name}/multi_hot",
    )


class SetInput(InputFeature):
    """Delimited members → multi-hot [N, V] → summed member embeddings."""

    type = "set"
    raw_dtype = RAW_STRING
    pre_dtype = "float32"
    Config = SetInputConfig
    #: rows per onnxruntime call that keep [rows, members] and [rows, vocabulary] small
    max_chunk_rows = 8192

    def accumulator(self) -> CountsAccumulator:
        """Fitted from {raw value: rows} (strings, "" = the empty set)."""
        return CountsAccumulator(self)

    def fit_counts(self, counts: Counter) -> "SetInput":
        """The vocabulary from {raw value: rows}."""
        self.vocab_ = members_from_counts(counts, self.config.preprocessing)
        return self

    def state(self) -> dict:
        return {"vocab": self.vocab_}

    @classmethod
    def from_state(cls, config: SetInputConfig, state: dict) -> "SetInput":
        self = cls(config)
        self.vocab_ = state["vocab"]
        return self

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → float32 [N, V]."""
        return multi_hot_onnx(g, raw, self.config.preprocessing, self.vocab_, self.config.name)

    def form_field(self, sample=None) -> dict:
        """Free members, with the known ones offered."""
        return {"default": "", "members": list(self.vocab_), "delimiter": self.config.preprocessing.delimiter}

    def edge_values(self) -> list:
        return super().edge_values() + list(self.vocab_)[:5]

    def output_width(self) -> int:
        e = self.config.encoder
        return e.dim if e.type == "embed" else len(self.vocab_)

    def encoder(self):
        """float [N, V] → [N, dim] (embed) or [N, V] (multi_hot)."""
        from toolkit.nn.encoders import Passthrough
        from toolkit.nn.sequence import SetEmbedding

        e = self.config.encoder
        if e.type == "multi_hot":
            return Passthrough()
        return SetEmbedding(len(self.vocab_), e.dim, e.dropout)


class SetOutput(OutputFeature):
    """A multi-label target: one logit per member, sigmoid, threshold."""

    type = "set"
    Config = SetOutputConfig
    raw_dtype = RAW_STRING
    metric_names = ("loss", "jaccard", "micro_f1", "macro_f1")
    default_metric = "loss"
    importance_metric = "micro_f1"
    report_plots = ("label_f1",)

    def accumulator(self) -> CountsAccumulator:
        return CountsAccumulator(self)

    def fit_counts(self, counts: Counter) -> "SetOutput":
        """Classes from {raw value: rows}."""
        self.classes_ = members_from_counts(counts, self.config.preprocessing)
        if not self.classes_:
            raise TkError(
                f"output feature {self.config.name!r} (column {self.config.source!r}): no member "
                f"occurs in the training split (delimiter {self.config.preprocessing.delimiter!r}, "
                f"min_count {self.config.preprocessing.min_count})"
            )
        return self

    @property
    def classes(self) -> list[str]:
        return self.classes_

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def state(self) -> dict:
        return {"classes": self.classes_}

    @classmethod
    def from_state(cls, config: SetOutputConfig, state: dict) -> "SetOutput":
        self = cls(config)
        self.classes_ = state["classes"]
        return self

    def missing(self, column: np.ndarray) -> np.ndarray:
        """Rows without a target: none. An empty value is the empty set, a target like any other."""
        return np.zeros(len(column), dtype=bool)

    def encode_target(self, column: np.ndarray) -> np.ndarray:
        """Raw strings [N] → float32 multi-hot [N, C]; "" is the empty set (a row of zeros).

        Members outside the classes are ignored: a row of only unknown members is the empty set.
        """
        column = np.asarray(column, dtype=object)
        index = {c: i for i, c in enumerate(self.classes_)}
        y = np.zeros((len(column), len(self.classes_)), dtype=np.float32)
        for r, members in enumerate(split_members(column, self.config.preprocessing)):
            for m in members:
                if m in index:
                    y[r, index[m]] = 1.0
        return y

    def decoder(self, d_in: int, k: int = 1):
        """[N, d_in] → [N, C] logits."""
        from toolkit.nn.decoders import ClassifierDecoder

        return ClassifierDecoder(d_in, len(self.classes_), k)

    def loss(self):
        """(logits [N, C], multi-hot [N, C]) → mean binary cross-entropy over rows and members."""
        import torch

        return torch.nn.BCEWithLogitsLoss()

    def _labels(self, hit: np.ndarray) -> np.ndarray:
        d = self.config.preprocessing.delimiter
        sep = d if d == " " else d + " "
        names = np.array(self.classes_, dtype=object)
        return np.array([sep.join(names[row]) for row in hit], dtype=object)

    def predict(self, logits: np.ndarray) -> dict[str, np.ndarray]:
        """Logits [N, C] → label [N] (members at or above the threshold, joined by
        "<delimiter> " in class order; "" for none) and probabilities [N, C]."""
        p = sigmoid(logits)
        return {"label": self._labels(p >= self.config.threshold), "probabilities": p}

    def importance_score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> float:
        from sklearn.metrics import f1_score

        from toolkit.scoring.metrics import safe

        pred = (outputs[f"{self.config.name}::probabilities"] >= self.config.threshold).astype(int)
        return safe(f1_score, y.astype(int), pred, average="micro", zero_division=0)

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs; `y` multi-hot [N, C]."""
        from toolkit.scoring import metrics

        return metrics.multilabel(y, outputs[f"{self.config.name}::probabilities"], self.config.threshold)

    def to_onnx_post(self, g, logits: str) -> dict[str, tuple[str, list]]:
        """Logits [N, C] → `<name>::probabilities` float [N, C] and `<name>::label` string [N]
        (the members at or above the threshold joined as in `predict`)."""
        n, c = self.config.name, len(self.classes_)
        i64 = np.int64
        p = g.op("Sigmoid", logits, name=f"{n}/sigmoid", outputs=[f"{n}::probabilities"])
        hit = g.op(
            "GreaterOrEqual", p, g.const(np.float32(self.config.threshold), name=f"{n}/threshold"), name=f"{n}/hit"
        )  # [N, C]
        empty = g.const(np.array("", dtype=object), "string", name=f"{n}/empty")
        d = self.config.preprocessing.delimiter
        sep = g.const(np.array(d if d == " " else d + " ", dtype=object), "string", name=f"{n}/sep")
        label, seen = None, None
        for k, cls in enumerate(self.classes_):  # fold the members left to right: C small steps
            hit_k = g.op(
                "Gather", hit, g.const(np.array(k, dtype=i64), name=f"{n}/k"), name=f"{n}/hit_{k}", axis=1
            )  # [N]
            word = g.op(
                "Where",
                hit_k,
                g.const(np.array(cls, dtype=object), "string", name=f"{n}/class_{k}"),
                empty,
                name=f"{n}/word_{k}",
            )
            if label is None:
                label, seen = word, hit_k
                continue
            glue = g.op("Where", g.op("And", hit_k, seen, name=f"{n}/both_{k}"), sep, empty, name=f"{n}/glue_{k}")
            label = g.op(
                "StringConcat", label, g.op("StringConcat", glue, word, name=f"{n}/piece_{k}"), name=f"{n}/label_{k}"
            )
            seen = g.op("Or", seen, hit_k, name=f"{n}/seen_{k}")
        g.op("Identity", label, name=f"{n}/label", outputs=[f"{n}::label"])
        return {f"{n}::label": ("string", ["N"]), f"{n}::probabilities": ("float32", ["N", c])}
