"""Binary input and output features.

Raw values arrive as strings (0/1 numbers are coerced to "0"/"1"). They are
lowercased and looked up: yes/no, true/false, y/n, t/f, 1/0 are understood,
or a declared `true_label` makes that value true and every other seen value
false. Input preprocessing (ONNX, string [N] → float32 [N, 1]):
    StringNormalizer(lower) → LabelEncoder(value → 1.0 / 0.0, unknown → NaN)
    → missing and unknown filled with the training mode.
Output: sigmoid probability of the true label, thresholded.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, field_validator

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
    sigmoid,
)

TRUE_WORDS = ("1", "1.0", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "0.0", "false", "f", "no", "n")


class BinaryPreprocessing(StrictModel):
    true_label: str | None = Field(None, description="The value that means true, when not yes/no-like.")


class BinaryInputConfig(FeatureConfig):
    type: Literal["binary"]
    preprocessing: BinaryPreprocessing = BinaryPreprocessing()


class BinaryOutputConfig(OutputFeatureConfig):
    type: Literal["binary"]
    preprocessing: BinaryPreprocessing = BinaryPreprocessing()
    threshold: float | Literal["auto"] = Field(
        "auto",
        description="Probability at or above which the label is true; auto: the cut-off that maximises "
        "threshold_metric on the validation rows, 0.5 unless another does strictly better "
        "(written into the ONNX graph).",
    )
    threshold_metric: Literal["f1", "accuracy", "balanced_accuracy", "mcc"] = Field(
        "mcc",
        description="What threshold: auto maximises. mcc (Matthews correlation) treats both classes "
        "alike and is 0 for a model that answers one class, so the cut-off never leaves a "
        "class unpredicted while the scores rank at all; accuracy keeps 0.5 more often; f1 "
        "favours the true class, balanced_accuracy the rarer one most.",
    )
    calibration: Literal["temperature", "none"] = Field(
        "none",
        description="temperature: the logit divided by one number fitted on the validation rows "
        "(lower log loss, same ranking); applied inside the ONNX graph.",
    )

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, v):
        if v != "auto" and not 0 < v < 1:
            raise ValueError(f"must be > 0 and < 1 (or auto), got {v}")
        return v

    positive_class_weight: float | Literal["balanced"] | None = Field(
        None, description="Weight of true rows in the loss; 'balanced' uses negatives/positives."
    )


def mapping_from_counts(counts: Counter, true_label: str | None, where: str) -> dict:
    """How raw strings map to true/false, from {raw value: rows}; "" is ignored.

    Returns {"true": [lowercased keys], "false": [...], "labels": [false, true]}
    where `labels` are the most frequent original spellings, used for output.
    """
    counts = Counter({v: c for v, c in counts.items() if v != ""})
    lowered = Counter()
    spelling: dict[str, Counter] = {}
    for value, c in counts.items():
        key = value.lower()
        lowered[key] += c
        spelling.setdefault(key, Counter())[value] += c
    keys = sorted(lowered)
    if true_label is not None:
        t = true_label.lower()
        if t not in lowered:
            raise TkError(
                f"{where}.preprocessing.true_label: {true_label!r} never occurs; values seen: {sorted(counts)[:10]}"
            )
        true_keys, false_keys = [t], [k for k in keys if k != t]
    elif set(keys) <= set(TRUE_WORDS) | set(FALSE_WORDS):  # yes/no-like: understand every spelling
        true_keys, false_keys = list(TRUE_WORDS), list(FALSE_WORDS)
    elif len(keys) <= 2:
        false_keys, true_keys = keys[:1], keys[1:]
    else:
        raise TkError(
            f"{where}: a binary column has at most 2 distinct values, got {len(keys)} "
            f"({', '.join(map(repr, keys[:8]))}); use type: category or set preprocessing.true_label"
        )

    def label(ks: list[str], default: str) -> str:
        spell = Counter()
        for k in ks:
            spell.update(spelling.get(k, {}))
        return spell.most_common(1)[0][0] if spell else default

    return {"true": true_keys, "false": false_keys, "labels": [label(false_keys, "false"), label(true_keys, "true")]}


def lookup(strings: np.ndarray, mapping: dict) -> np.ndarray:
    """The Python twin of the ONNX lookup: strings [N] → float [N] (1, 0 or NaN)."""
    table = {k: 1.0 for k in mapping["true"]} | {k: 0.0 for k in mapping["false"]}
    return np.array([table.get(s.lower(), np.nan) for s in strings], dtype=np.float64)


def mapping_to_onnx(g, raw: str, mapping: dict, name: str, default: float = float("nan")) -> str:
    """Emit string [N] → float32 [N] of 1/0, `default` for missing or unknown."""
    lower = g.op("StringNormalizer", raw, name=f"{name}/lower", case_change_action="LOWER", locale="C.UTF-8")
    keys = mapping["true"] + mapping["false"]
    values = [1.0] * len(mapping["true"]) + [0.0] * len(mapping["false"])
    from toolkit.common.onnxgraph import tensor

    return g.op(
        "LabelEncoder",
        lower,
        name=f"{name}/lookup",
        domain="ai.onnx.ml",
        keys_tensor=tensor("keys", keys or ["\x00"], "string"),
        values_tensor=tensor("values", np.array(values or [0.0], dtype=np.float32)),
        default_tensor=tensor("default", np.array([default], dtype=np.float32)),
    )


def _true_false(counts: Counter, mapping: dict) -> tuple[int, int]:
    """(rows that look up as true, rows that look up as false) of {raw value: rows}."""
    values = list(counts)
    hits = lookup(np.array(values, dtype=object), mapping) if values else np.zeros(0)
    trues = sum(counts[v] for v, h in zip(values, hits.tolist()) if h == 1.0)
    falses = sum(counts[v] for v, h in zip(values, hits.tolist()) if h == 0.0)
    return trues, falses


class BinaryInput(InputFeature):
    """A two-valued column → 0.0 / 1.0 per row."""

    type = "binary"
    raw_dtype = RAW_STRING
    pre_dtype = "float32"
    Config = BinaryInputConfig

    def accumulator(self) -> CountsAccumulator:
        """Fitted from {raw value: rows} (strings, "" = missing)."""
        return CountsAccumulator(self)

    def fit_counts(self, counts: Counter) -> "BinaryInput":
        """Mapping and fill value (the training mode) from {raw value: rows}."""
        where = f"input feature {self.config.name!r} (column {self.config.source!r})"
        self.mapping_ = mapping_from_counts(counts, self.config.preprocessing.true_label, where)
        trues, falses = _true_false(counts, self.mapping_)
        self.fill_ = float(trues / (trues + falses) >= 0.5) if trues + falses else 0.0
        return self

    def state(self) -> dict:
        return {"mapping": self.mapping_, "fill": self.fill_}

    @classmethod
    def from_state(cls, config: BinaryInputConfig, state: dict) -> "BinaryInput":
        self = cls(config)
        self.mapping_, self.fill_ = state["mapping"], state["fill"]
        return self

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → float32 [N, 1]; missing and unknown values look up as the fill value."""
        n = self.config.name
        filled = mapping_to_onnx(g, raw, self.mapping_, n, default=self.fill_)
        return g.op("Unsqueeze", filled, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/pre")

    def form_field(self, sample=None) -> dict:
        """Two choices, the training mode first."""
        labels = self.mapping_["labels"]
        return {"default": labels[int(self.fill_ >= 0.5)], "labels": labels}

    def edge_values(self) -> list:
        return super().edge_values() + list(self.mapping_.get("true", []))[:2]

    def output_width(self) -> int:
        return 1

    def encoder(self):
        """[N, 1] → [N, 1]."""
        from toolkit.nn.encoders import Passthrough

        return Passthrough()


class BinaryOutput(OutputFeature):
    """A two-valued target: one logit, sigmoid, threshold."""

    type = "binary"
    Config = BinaryOutputConfig
    raw_dtype = RAW_STRING
    metric_names = ("loss", "roc_auc", "accuracy", "f1", "precision", "recall", "log_loss", "ece")
    default_metric = "loss"
    importance_metric = "roc_auc"
    report_plots = ("confusion", "roc", "precision_recall", "calibration", "probabilities")

    def accumulator(self) -> CountsAccumulator:
        return CountsAccumulator(self)

    def fit_counts(self, counts: Counter) -> "BinaryOutput":
        """Mapping and positive weight from {raw value: rows}."""
        where = f"output feature {self.config.name!r} (column {self.config.source!r})"
        self.mapping_ = mapping_from_counts(counts, self.config.preprocessing.true_label, where)
        trues, falses = _true_false(counts, self.mapping_)
        if not (trues and falses):
            raise TkError(
                f"{where}: the target has one class only ({self.mapping_['labels'][int(trues > 0)]!r}) "
                "in the training split; a classifier needs two"
            )
        w = self.config.positive_class_weight
        self.pos_weight_ = float(falses / trues) if w == "balanced" else (w or 1.0)
        self.temperature_ = 1.0
        self.threshold_ = 0.5 if self.config.threshold == "auto" else float(self.config.threshold)
        return self

    def fit_post(self, y: np.ndarray, logits: np.ndarray) -> dict | None:
        """Temperature and/or an automatic threshold from the validation rows (`y` 0/1, `logits` [N])."""
        from toolkit.scoring import calibration as cal

        c = self.config
        if c.calibration == "none" and c.threshold != "auto":
            return None
        info = {"ece_before": cal.expected_calibration_error(y, cal.probabilities(logits))}
        if c.calibration == "temperature":
            self.temperature_ = cal.fit_temperature(logits, y)
        p = cal.probabilities(logits / self.temperature_)
        if c.threshold == "auto":
            self.threshold_ = cal.best_threshold(y, p[:, 1], c.threshold_metric)
        return info | {
            "ece_after": cal.expected_calibration_error(y, p),
            "temperature": self.temperature_,
            "threshold": self.threshold_,
        }

    @property
    def classes(self) -> list[str]:
        return self.mapping_["labels"]

    @property
    def threshold(self) -> float:
        return self.threshold_

    def state(self) -> dict:
        return {
            "mapping": self.mapping_,
            "pos_weight": self.pos_weight_,
            "temperature": self.temperature_,
            "threshold": self.threshold_,
        }

    @classmethod
    def from_state(cls, config: BinaryOutputConfig, state: dict) -> "BinaryOutput":
        self = cls(config)
        self.mapping_, self.pos_weight_ = state["mapping"], state["pos_weight"]
        self.temperature_ = state.get("temperature", 1.0)
        self.threshold_ = state.get("threshold", 0.5 if config.threshold == "auto" else config.threshold)
        return self

    def encode_target(self, column: np.ndarray) -> np.ndarray:
        """Raw strings [N] → float32 [N] of 1/0; NaN for missing or unknown values."""
        return lookup(column, self.mapping_).astype(np.float32)

    def decoder(self, d_in: int, k: int = 1):
        """[N, d_in] → [N] logits."""
        from toolkit.nn.decoders import RegressionDecoder

        return RegressionDecoder(d_in, k)

    def loss(self):
        import torch

        return torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(self.pos_weight_))

    def importance_score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> float:
        from sklearn.metrics import roc_auc_score

        from toolkit.scoring.metrics import safe

        return safe(roc_auc_score, y, outputs[f"{self.config.name}::probabilities"][:, 1])

    def predict(self, logits: np.ndarray) -> dict[str, np.ndarray]:
        """Logits [N] → label [N] (original spelling) and probabilities [N, 2] (false, true)."""
        p = sigmoid(np.asarray(logits, dtype=np.float64) / self.temperature_)
        labels = np.array(self.classes, dtype=object)[(p >= self.threshold_).astype(int)]
        return {"label": labels, "probabilities": np.stack([1 - p, p], axis=1)}

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs; `y` 0/1 [N]."""
        from toolkit.scoring import metrics

        return metrics.binary(y, outputs[f"{self.config.name}::probabilities"][:, 1], self.threshold_)

    def explain_score(self, raw):
        """The calibrated log-odds: log(p / (1 − p)) of the probability given."""
        return raw / float(self.temperature_)

    def to_onnx_post(self, g, logits: str) -> dict[str, tuple[str, list]]:
        """Logits [N] → `<name>::label` string [N], `<name>::probabilities` float [N, 2]."""
        from toolkit.common.onnxgraph import tensor

        n = self.config.name
        if self.temperature_ != 1.0:  # temperature scaling, fitted on the validation rows
            logits = g.op(
                "Div", logits, g.const(np.float32(self.temperature_), name=f"{n}/temperature"), name=f"{n}/calibrate"
            )
        p = g.op("Sigmoid", logits, name=f"{n}/sigmoid")
        p_col = g.op("Unsqueeze", p, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/p_col")
        q_col = g.op("Sub", g.const(np.float32(1), name=f"{n}/one"), p_col, name=f"{n}/q_col")
        g.op("Concat", q_col, p_col, name=f"{n}/probabilities", axis=1, outputs=[f"{n}::probabilities"])
        hit = g.op("GreaterOrEqual", p, g.const(np.float32(self.threshold_), name=f"{n}/threshold"), name=f"{n}/over")
        idx = g.op("Cast", hit, name=f"{n}/index", to=7)  # INT64
        g.op(
            "LabelEncoder",
            idx,
            name=f"{n}/label",
            domain="ai.onnx.ml",
            outputs=[f"{n}::label"],
            keys_tensor=tensor("keys", np.array([0, 1], dtype=np.int64)),
            values_tensor=tensor("values", self.classes, "string"),
            default_tensor=tensor("default", [""], "string"),
        )
        return {f"{n}::label": ("string", ["N"]), f"{n}::probabilities": ("float32", ["N", 2])}
