"""Category input and output features.

Input preprocessing (ONNX, string [N] → int64 [N]):
    optional StringNormalizer(lower) → LabelEncoder(vocabulary → id).
    Id 0 is missing (""), id 1 is unknown (not in the vocabulary), ids 2… are
    the vocabulary, most frequent first (ties broken alphabetically).
Encoder: an embedding (dimension from a rule unless given) or one-hot.
Output: softmax over the classes seen in training.
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
)

MISSING_ID, UNKNOWN_ID, FIRST_ID = 0, 1, 2


class CategoryPreprocessing(StrictModel):
    lowercase: bool = False
    min_count: int = Field(1, ge=1, description="Values seen fewer times become unknown.")
    max_size: int = Field(10_000, gt=0, description="Keep at most this many most frequent values.")


class CategoryEncoder(StrictModel):
    type: Literal["embed", "onehot"] = "embed"
    dim: int | None = Field(None, gt=0, description="Embedding size; default min(64, round(1.6 * n ** 0.56)).")
    dropout: float = Field(0.0, ge=0, lt=1)


class CategoryInputConfig(FeatureConfig):
    type: Literal["category"]
    preprocessing: CategoryPreprocessing = CategoryPreprocessing()
    encoder: CategoryEncoder = CategoryEncoder()


class CategoryOutputPreprocessing(StrictModel):
    lowercase: bool = False


class CategoryOutputConfig(OutputFeatureConfig):
    type: Literal["category"]
    preprocessing: CategoryOutputPreprocessing = CategoryOutputPreprocessing()
    class_weights: Literal["balanced"] | dict[str, float] | None = Field(
        None, description="Loss weight per class: 'balanced' or {class: weight}."
    )
    calibration: Literal["temperature", "none"] = Field(
        "none",
        description="temperature: the logits divided by one number fitted on the validation rows "
        "(lower log loss, same argmax); applied inside the ONNX graph.",
    )


def lowered_counts(counts: Counter, lowercase: bool) -> Counter:
    """{value: rows} with values lowercased (and merged) when `lowercase`."""
    if not lowercase:
        return counts
    out: Counter = Counter()
    for v, c in counts.items():
        out[v.lower()] += c
    return out


def vocabulary_to_onnx(g, raw: str, vocab: list[str], lowercase: bool, name: str, default: int) -> str:
    """Emit string [N] → int64 [N] ids (vocab[i] → i + FIRST_ID, "" → 0, else `default`)."""
    from toolkit.common.onnxgraph import tensor

    x = raw
    if lowercase:
        x = g.op("StringNormalizer", x, name=f"{name}/lower", case_change_action="LOWER", locale="C.UTF-8")
    keys = [""] + list(vocab)
    values = np.array([MISSING_ID] + list(range(FIRST_ID, FIRST_ID + len(vocab))), dtype=np.int64)
    return g.op(
        "LabelEncoder",
        x,
        name=f"{name}/ids",
        domain="ai.onnx.ml",
        keys_tensor=tensor("keys", keys, "string"),
        values_tensor=tensor("values", values),
        default_tensor=tensor("default", np.array([default], dtype=np.int64)),
    )


def embedding_dim(n: int) -> int:
    """fastai's rule of thumb, capped at 64: 2 → 3, 4 → 4, 10 → 6, 100 → 21."""
    return int(min(64, max(2, round(1.6 * n**0.56))))


class CategoryInput(InputFeature):
    """A column of labels → an id per row → an embedding or one-hot vector."""

    type = "category"
    raw_dtype = RAW_STRING
    pre_dtype = "int64"
    tree_input = "categorical"  # one column of ids, split by LightGBM's category splits
    Config = CategoryInputConfig

    def accumulator(self) -> CountsAccumulator:
        """Fitted from {raw value: rows} (strings, "" = missing)."""
        return CountsAccumulator(self)

    def fit_counts(self, counts: Counter) -> "CategoryInput":
        """The same as `fit` from {raw value: rows} (a streaming pass's counts)."""
        p = self.config.preprocessing
        self.vocab_ = rank(lowered_counts(counts, p.lowercase), p.min_count, p.max_size)
        return self

    def state(self) -> dict:
        return {"vocab": self.vocab_}

    @classmethod
    def from_state(cls, config: CategoryInputConfig, state: dict) -> "CategoryInput":
        self = cls(config)
        self.vocab_ = state["vocab"]
        return self

    @property
    def n_ids(self) -> int:
        return FIRST_ID + len(self.vocab_)

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → int64 [N]."""
        return vocabulary_to_onnx(
            g, raw, self.vocab_, self.config.preprocessing.lowercase, self.config.name, UNKNOWN_ID
        )

    def form_field(self, sample=None) -> dict:
        """A choice among the vocabulary, the most frequent first."""
        return {"default": self.vocab_[0] if self.vocab_ else "", "choices": list(self.vocab_)}

    def edge_values(self) -> list:
        return super().edge_values() + list(self.vocab_)[:5]

    def output_width(self) -> int:
        e = self.config.encoder
        return self.n_ids if e.type == "onehot" else (e.dim or embedding_dim(self.n_ids))

    def encoder(self):
        """int64 [N] → float [N, output_width()]."""
        from toolkit.nn.encoders import CategoryEmbedding, OneHot

        e = self.config.encoder
        if e.type == "onehot":
            return OneHot(self.n_ids)
        return CategoryEmbedding(self.n_ids, self.output_width(), e.dropout)


class CategoryOutput(OutputFeature):
    """A target with C classes: C logits, softmax, argmax."""

    type = "category"
    Config = CategoryOutputConfig
    raw_dtype = RAW_STRING
    metric_names = ("loss", "accuracy", "macro_f1", "roc_auc", "log_loss", "ece")
    default_metric = "loss"
    importance_metric = "accuracy"
    report_plots = ("confusion", "roc", "precision_recall", "calibration", "probabilities")

    def accumulator(self) -> CountsAccumulator:
        return CountsAccumulator(self)

    def _prepare(self, strings: np.ndarray) -> np.ndarray:
        if self.config.preprocessing.lowercase:
            return np.array([s.lower() for s in strings], dtype=object)
        return strings

    def fit_counts(self, counts: Counter) -> "CategoryOutput":
        """Classes (and class weights) from {raw value: rows}."""
        where = f"output feature {self.config.name!r} (column {self.config.source!r})"
        counts = lowered_counts(counts, self.config.preprocessing.lowercase)
        self.classes_ = rank(counts, 1, 1_000_000)
        if len(self.classes_) < 2:
            raise TkError(
                f"{where}: the target has one class only ({self.classes_[:1]}) in the "
                "training split; a classifier needs two"
            )
        cw = self.config.class_weights
        if cw == "balanced":
            per_class = np.array([counts[c] for c in self.classes_], dtype=np.int64)
            self.weights_ = (per_class.sum() / (len(per_class) * np.maximum(per_class, 1))).tolist()
        elif isinstance(cw, dict):
            unknown = sorted(set(cw) - set(self.classes_))
            if unknown:
                raise TkError(f"{where}.class_weights: unknown classes {unknown}; classes are {self.classes_}")
            self.weights_ = [float(cw.get(c, 1.0)) for c in self.classes_]
        else:
            self.weights_ = None
        self.temperature_ = 1.0
        return self

    def fit_post(self, y: np.ndarray, logits: np.ndarray) -> dict | None:
        """Temperature scaling from the validation rows (`y` class index [N], `logits` [N, C])."""
        from toolkit.scoring import calibration as cal

        if self.config.calibration == "none":
            return None
        before = cal.expected_calibration_error(y, cal.probabilities(logits))
        self.temperature_ = cal.fit_temperature(logits, y)
        after = cal.expected_calibration_error(y, cal.probabilities(logits / self.temperature_))
        return {"ece_before": before, "ece_after": after, "temperature": self.temperature_}

    @property
    def classes(self) -> list[str]:
        return self.classes_

    def state(self) -> dict:
        return {"classes": self.classes_, "weights": self.weights_, "temperature": self.temperature_}

    @classmethod
    def from_state(cls, config: CategoryOutputConfig, state: dict) -> "CategoryOutput":
        self = cls(config)
        self.classes_, self.weights_ = state["classes"], state["weights"]
        self.temperature_ = state.get("temperature", 1.0)
        return self

    def encode_target(self, column: np.ndarray) -> np.ndarray:
        """Raw strings [N] → float32 class index [N]; NaN for missing or unseen classes."""
        index = {c: float(i) for i, c in enumerate(self.classes_)}
        return np.array([index.get(s, np.nan) for s in self._prepare(column)], dtype=np.float32)

    def decoder(self, d_in: int, k: int = 1):
        """[N, d_in] → [N, C] logits."""
        from toolkit.nn.decoders import ClassifierDecoder

        return ClassifierDecoder(d_in, len(self.classes_), k)

    def loss(self):
        """(logits [N, C], class index [N]) → scalar (class weights as a buffer: it moves with `.to`)."""
        from toolkit.nn.decoders import IndexCrossEntropy

        return IndexCrossEntropy(self.weights_)

    def predict(self, logits: np.ndarray) -> dict[str, np.ndarray]:
        """Logits [N, C] → label [N] and probabilities [N, C]."""
        z = logits.astype(np.float64) / self.temperature_
        z = np.exp(z - z.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        return {"label": np.array(self.classes_, dtype=object)[p.argmax(axis=1)], "probabilities": p}

    def importance_score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> float:
        return float(np.mean(outputs[f"{self.config.name}::probabilities"].argmax(axis=1) == y))

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs; `y` class index [N]."""
        from toolkit.scoring import metrics

        return metrics.multiclass(y.astype(int), outputs[f"{self.config.name}::probabilities"])

    def to_onnx_post(self, g, logits: str) -> dict[str, tuple[str, list]]:
        """Logits [N, C] → `<name>::label` string [N], `<name>::probabilities` float [N, C]."""
        from toolkit.common.onnxgraph import tensor

        n, c = self.config.name, len(self.classes_)
        if self.temperature_ != 1.0:  # temperature scaling, fitted on the validation rows
            logits = g.op(
                "Div", logits, g.const(np.float32(self.temperature_), name=f"{n}/temperature"), name=f"{n}/calibrate"
            )
        g.op("Softmax", logits, name=f"{n}/softmax", axis=1, outputs=[f"{n}::probabilities"])
        idx = g.op("ArgMax", logits, name=f"{n}/argmax", axis=1, keepdims=0)
        g.op(
            "LabelEncoder",
            idx,
            name=f"{n}/label",
            domain="ai.onnx.ml",
            outputs=[f"{n}::label"],
            keys_tensor=tensor("keys", np.arange(c, dtype=np.int64)),
            values_tensor=tensor("values", self.classes_, "string"),
            default_tensor=tensor("default", [""], "string"),
        )
        return {f"{n}::label": ("string", ["N"]), f"{n}::probabilities": ("float32", ["N", c])}
