"""Number input and output features.

Input preprocessing (ONNX, float32 [N] → [N, 1] or [N, T]):
    NaN → fill value (mean, median or a constant), ±inf and values outside the
    training range → clamped to [min, max] of the training column, then
    zscore ((x - mean) / std), minmax ((x - min) / (max - min)) or none → [N, 1].
    With the default `piecewise` encoder the clamped value is instead encoded
    piecewise-linearly over T quantile bins (Gorishniy et al., 2022, "On
    Embeddings for Numerical Features"): e_t = clip((x - b_t) / (b_{t+1} - b_t), 0, 1)
    → [N, T], which lets a small MLP fit a bent response (churn vs tenure).
Output: the target is z-scored for training; predictions are mapped back.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from toolkit.errors import TkError
from toolkit.features.base import (
    RAW_FLOAT,
    Accumulator,
    FeatureConfig,
    InputFeature,
    OutputFeature,
    OutputFeatureConfig,  # numpy, lazily
    StrictModel,
    np,
)

#: Values a number accumulator keeps for quantiles and the median (all of them below it).
RESERVOIR_SIZE = 262_144


class NumberPreprocessing(StrictModel):
    normalization: Literal["zscore", "minmax", "none"] = "zscore"
    missing_value_strategy: Literal["mean", "median", "constant", "keep"] = Field(
        "mean",
        description="How NaN is filled; keep: NaN passes through (model_type gbm, the default there: "
        "trees route missing values themselves).",
    )
    fill_value: float = Field(0.0, description="Used when missing_value_strategy is constant.")


class NumberEncoder(StrictModel):
    type: Literal["piecewise", "passthrough", "dense"] = "piecewise"
    bins: int = Field(8, ge=2, le=256, description="Quantile bins of the piecewise-linear encoding.")
    size: int = Field(8, gt=0, description="Output width of the dense encoder.")


class NumberInputConfig(FeatureConfig):
    type: Literal["number"]
    preprocessing: NumberPreprocessing = NumberPreprocessing()
    encoder: NumberEncoder = NumberEncoder()


class NumberLoss(StrictModel):
    type: Literal["mse", "huber"] = "mse"
    delta: float = Field(1.0, gt=0, description="Huber delta, in standard deviations of the target.")


class NumberOutputConfig(OutputFeatureConfig):
    type: Literal["number"]
    loss: NumberLoss = NumberLoss()


def _finite(column: np.ndarray) -> np.ndarray:
    col = np.asarray(column, dtype=np.float64)
    return col[np.isfinite(col)]


class NumberAccumulator(Accumulator):
    """Count, mean and M2 merged chunk by chunk (Chan et al.), min, max, and a uniform
    reservoir of RESERVOIR_SIZE finite values (Algorithm R).

    While every value fits the reservoir the feature is fitted on all of them
    (the in-memory fit); above it mean, std, min and max stay exact, and
    quantile bin edges and a median fill come from the reservoir sample.
    """

    def __init__(self, feature, seed: int = 0):
        super().__init__(feature)
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.lo, self.hi = np.inf, -np.inf
        self.reservoir = np.empty(0, dtype=np.float64)
        self.rng = np.random.default_rng(seed)

    def update(self, column: np.ndarray) -> None:
        self.rows += len(column)
        x = _finite(column)
        m = len(x)
        if m == 0:
            return
        mean_b, m2_b = float(x.mean()), float(((x - x.mean()) ** 2).sum())
        n = self.n + m
        delta = mean_b - self.mean
        self.mean += delta * m / n
        self.m2 += m2_b + delta * delta * self.n * m / n
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        room = RESERVOIR_SIZE - len(self.reservoir)
        if room > 0:
            self.reservoir = x[:room] if not len(self.reservoir) else np.concatenate([self.reservoir, x[:room]])
        rest = x[max(room, 0) :]
        if len(rest):  # Algorithm R: value i (0-based, global) replaces slot r ~ U[0, i] when r < size
            seen = np.arange(self.n + max(room, 0), self.n + m, dtype=np.int64)
            slots = self.rng.integers(0, seen + 1)
            hit = slots < RESERVOIR_SIZE
            self.reservoir[slots[hit]] = rest[hit]
        self.n = self.present = n

    def exact(self) -> tuple[float, float, float, float] | None:
        """(mean, std, min, max) over every value when the reservoir holds a sample only, else None."""
        if self.n <= RESERVOIR_SIZE:
            return None
        return self.mean, float(np.sqrt(self.m2 / self.n)), self.lo, self.hi

    def finish(self):
        return self.feature.fit_values(self.reservoir, self.exact())


class NumberInput(InputFeature):
    """A numeric column → one standardised float per row."""

    type = "number"
    raw_dtype = RAW_FLOAT
    pre_dtype = "float32"
    Config = NumberInputConfig

    def accumulator(self) -> NumberAccumulator:
        return NumberAccumulator(self)

    def fit_values(self, values: np.ndarray, exact=None) -> "NumberInput":
        """Learn fill value, clamp range and scaling from finite training values [N] (float64);
        `exact` (mean, std, min, max) over a larger column of which `values` is a sample."""
        if len(values) == 0:
            raise TkError(
                f"column {self.config.source!r} (input feature {self.config.name!r}): "
                "no finite values in the training split; drop the feature or fix the data"
            )
        p = self.config.preprocessing
        fill = {"mean": values.mean(), "median": np.median(values), "constant": p.fill_value, "keep": 0.0}[
            p.missing_value_strategy
        ]
        lo, hi = float(values.min()), float(values.max())
        if p.normalization == "zscore":
            shift, scale = float(values.mean()), float(values.std())
        elif p.normalization == "minmax":
            shift, scale = lo, hi - lo
        else:
            shift, scale = 0.0, 1.0
        self.fill_ = float(fill)
        self.min_, self.max_ = lo, hi
        self.shift_, self.scale_ = shift, scale if scale > 0 else 1.0
        self.edges_ = []
        if self.config.encoder.type == "piecewise":
            edges = np.unique(np.quantile(values, np.linspace(0, 1, self.config.encoder.bins + 1)))
            self.edges_ = [float(e) for e in edges] if len(edges) >= 2 else [lo, lo + 1.0]
        if exact is not None:
            mean, std, lo, hi = exact
            self.min_, self.max_ = lo, hi
            if p.missing_value_strategy == "mean":
                self.fill_ = mean
            if p.normalization == "zscore":
                self.shift_, self.scale_ = mean, std if std > 0 else 1.0
            elif p.normalization == "minmax":
                self.shift_, self.scale_ = lo, (hi - lo) or 1.0
        return self

    def state(self) -> dict:
        return {
            "fill": self.fill_,
            "min": self.min_,
            "max": self.max_,
            "shift": self.shift_,
            "scale": self.scale_,
            "edges": self.edges_,
        }

    @classmethod
    def from_state(cls, config: NumberInputConfig, state: dict) -> "NumberInput":
        self = cls(config)
        self.fill_, self.min_, self.max_ = state["fill"], state["min"], state["max"]
        self.shift_, self.scale_ = state["shift"], state["scale"]
        self.edges_ = state.get("edges", [])
        return self

    def to_onnx(self, g, raw: str) -> str:
        """Emit impute → clamp → scale; `raw` is float32 [N], returns float32 [N, 1] or [N, T]."""
        n = self.config.name
        f32 = np.float32
        isnan = g.op("IsNaN", raw, name=f"{n}/isnan")
        filled = g.op("Where", isnan, g.const(f32(self.fill_), name=f"{n}/fill"), raw, name=f"{n}/impute")
        clamped = g.op(
            "Clip",
            filled,
            g.const(f32(self.min_), name=f"{n}/min"),
            g.const(f32(self.max_), name=f"{n}/max"),
            name=f"{n}/clamp",
        )
        if self.config.preprocessing.missing_value_strategy == "keep":  # NaN back where it was
            clamped = g.op("Where", isnan, raw, clamped, name=f"{n}/keep_nan")
        if self.edges_:
            return self._piecewise_onnx(g, clamped)
        shifted = g.op("Sub", clamped, g.const(f32(self.shift_), name=f"{n}/shift"), name=f"{n}/sub")
        scaled = g.op("Div", shifted, g.const(f32(self.scale_), name=f"{n}/scale"), name=f"{n}/div")
        return g.op("Unsqueeze", scaled, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/pre")

    def _piecewise_onnx(self, g, x: str) -> str:
        """float32 [N] → [N, T]: clip((x - left_t) / width_t, 0, 1) per bin t."""
        n = self.config.name
        edges = np.asarray(self.edges_, dtype=np.float64)
        left = edges[:-1].astype(np.float32)
        width = np.maximum(np.diff(edges), 1e-12).astype(np.float32)
        col = g.op("Unsqueeze", x, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/col")
        shifted = g.op("Sub", col, g.const(left, name=f"{n}/left"), name=f"{n}/ple_sub")
        ratio = g.op("Div", shifted, g.const(width, name=f"{n}/width"), name=f"{n}/ple_div")
        return g.op(
            "Clip",
            ratio,
            g.const(np.float32(0), name=f"{n}/zero"),
            g.const(np.float32(1), name=f"{n}/one"),
            name=f"{n}/pre",
        )

    def form_field(self, sample: np.ndarray | None = None) -> dict:
        """A number box: the training median (of `sample` when given, else the fill value), min, max."""
        median = self.fill_
        if sample is not None:
            from toolkit.data import coerce

            nums = coerce.to_float32(sample)[0].astype(np.float64)
            finite = nums[np.isfinite(nums)]
            median = float(np.median(finite)) if len(finite) else median
        return {"default": float(f"{median:.6g}"), "min": self.min_, "max": self.max_}

    def edge_values(self) -> list:
        return super().edge_values() + [self.min_, self.max_, self.fill_]

    def output_width(self) -> int:
        if self.edges_:
            return len(self.edges_) - 1
        return self.config.encoder.size if self.config.encoder.type == "dense" else 1

    def encoder(self):
        """[N, 1] float → [N, 1] (passthrough) or [N, size] (dense); [N, T] piecewise passes."""
        from toolkit.nn.encoders import DenseEncoder, Passthrough

        if self.config.encoder.type == "dense":
            return DenseEncoder(1, self.config.encoder.size)
        return Passthrough()


class NumberOutput(OutputFeature):
    """A numeric target: regression on the z-scored value, reported in original units."""

    type = "number"
    Config = NumberOutputConfig
    raw_dtype = RAW_FLOAT
    metric_names = ("loss", "mae", "rmse", "r2")
    default_metric = "loss"
    importance_metric = "r2"
    report_plots = ("predicted_vs_actual", "residuals")

    def accumulator(self) -> NumberAccumulator:
        return NumberAccumulator(self)

    def fit_values(self, values: np.ndarray, exact=None) -> "NumberOutput":
        """Mean and std of the finite training targets [N] (`exact`: see NumberInput.fit_values)."""
        if len(values) == 0:
            raise TkError(
                f"column {self.config.source!r} (output feature {self.config.name!r}): target has no numeric values"
            )
        self.mean_, self.std_ = float(values.mean()), float(values.std()) or 1.0
        if exact is not None:
            self.mean_, self.std_ = exact[0], exact[1] or 1.0
        return self

    def state(self) -> dict:
        return {"mean": self.mean_, "std": self.std_}

    @classmethod
    def from_state(cls, config: NumberOutputConfig, state: dict) -> "NumberOutput":
        self = cls(config)
        self.mean_, self.std_ = state["mean"], state["std"]
        return self

    def encode_target(self, column: np.ndarray) -> np.ndarray:
        """Raw target [N] → float32 [N] z-scored; NaN where missing or not finite."""
        col = np.asarray(column, dtype=np.float64)
        col = np.where(np.isfinite(col), col, math.nan)
        return ((col - self.mean_) / self.std_).astype(np.float32)

    def decoder(self, d_in: int, k: int = 1):
        """[N, d_in] → [N] (z-scored prediction)."""
        from toolkit.nn.decoders import RegressionDecoder

        return RegressionDecoder(d_in, k)

    def loss(self):
        """(pred [N], target [N]) → scalar."""
        import torch

        if self.config.loss.type == "huber":
            return torch.nn.HuberLoss(delta=self.config.loss.delta)
        return torch.nn.MSELoss()

    def predict(self, out: np.ndarray) -> dict[str, np.ndarray]:
        """Decoder output [N] → {"value": [N]} in the target's units."""
        return {"value": out.astype(np.float64) * self.std_ + self.mean_}

    def importance_score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> float:
        from sklearn.metrics import r2_score

        from toolkit.scoring.metrics import safe

        return safe(r2_score, y * self.std_ + self.mean_, outputs[f"{self.config.name}::value"])

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs; `y` z-scored target [N]."""
        from toolkit.scoring import metrics

        return metrics.regression(y * self.std_ + self.mean_, outputs[f"{self.config.name}::value"])

    def explain_score(self, raw):
        """The value in the target's units (attributions of the z-scored value, rescaled)."""
        return raw * float(self.std_) + float(self.mean_)

    def to_onnx_post(self, g, out: str) -> dict[str, tuple[str, list]]:
        """z-scored prediction [N] → `<name>::value` float [N] in the target's units."""
        n = self.config.name
        scaled = g.op("Mul", out, g.const(np.float32(self.std_), name=f"{n}/std"), name=f"{n}/unscale")
        g.op(
            "Add", scaled, g.const(np.float32(self.mean_), name=f"{n}/mean"), name=f"{n}/value", outputs=[f"{n}::value"]
        )
        return {f"{n}::value": ("float32", ["N"])}
