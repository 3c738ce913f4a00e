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

from toolkit.features.base import RAW_FLOAT, FeatureConfig, OutputFeatureConfig, StrictModel, np  # numpy, lazily
from toolkit.errors import TkError


class NumberPreprocessing(StrictModel):
    normalization: Literal["zscore", "minmax", "none"] = "zscore"
    missing_value_strategy: Literal["mean", "median", "constant"] = "mean"
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


class NumberInput:
    """A numeric column → one standardised float per row."""

    type = "number"
    raw_dtype = RAW_FLOAT
    pre_dtype = "float32"
    Config = NumberInputConfig

    def __init__(self, config: NumberInputConfig):
        self.config = config

    def fit(self, column: np.ndarray) -> "NumberInput":
        """Learn fill value, clamp range and scaling from the training column [N]."""
        values = _finite(column)
        if len(values) == 0:
            raise TkError(f"column {self.config.source!r} (input feature {self.config.name!r}): "
                          "no finite values in the training split; drop the feature or fix the data")
        p = self.config.preprocessing
        fill = {"mean": values.mean(), "median": np.median(values), "constant": p.fill_value}[
            p.missing_value_strategy]
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
        return self

    def state(self) -> dict:
        return {"fill": self.fill_, "min": self.min_, "max": self.max_,
                "shift": self.shift_, "scale": self.scale_, "edges": self.edges_}

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
        clamped = g.op("Clip", filled, g.const(f32(self.min_), name=f"{n}/min"),
                       g.const(f32(self.max_), name=f"{n}/max"), name=f"{n}/clamp")
        if self.edges_:
            return self._piecewise_onnx(g, clamped)
        shifted = g.op("Sub", clamped, g.const(f32(self.shift_), name=f"{n}/shift"), name=f"{n}/sub")
        scaled = g.op("Div", shifted, g.const(f32(self.scale_), name=f"{n}/scale"), name=f"{n}/div")
        return g.op("Unsqueeze", scaled, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"),
                    name=f"{n}/pre")

    def _piecewise_onnx(self, g, x: str) -> str:
        """float32 [N] → [N, T]: clip((x - left_t) / width_t, 0, 1) per bin t."""
        n = self.config.name
        edges = np.asarray(self.edges_, dtype=np.float64)
        left = edges[:-1].astype(np.float32)
        width = np.maximum(np.diff(edges), 1e-12).astype(np.float32)
        col = g.op("Unsqueeze", x, g.const(np.array([1], dtype=np.int64), name=f"{n}/axis"), name=f"{n}/col")
        shifted = g.op("Sub", col, g.const(left, name=f"{n}/left"), name=f"{n}/ple_sub")
        ratio = g.op("Div", shifted, g.const(width, name=f"{n}/width"), name=f"{n}/ple_div")
        return g.op("Clip", ratio, g.const(np.float32(0), name=f"{n}/zero"),
                    g.const(np.float32(1), name=f"{n}/one"), name=f"{n}/pre")

    def output_width(self) -> int:
        if self.edges_:
            return len(self.edges_) - 1
        return self.config.encoder.size if self.config.encoder.type == "dense" else 1

    def encoder(self):
        """[N, 1] float → [N, 1] (passthrough) or [N, size] (dense); [N, T] piecewise passes."""
        from toolkit.encoders import DenseEncoder, Passthrough

        if self.config.encoder.type == "dense":
            return DenseEncoder(1, self.config.encoder.size)
        return Passthrough()


class NumberOutput:
    """A numeric target: regression on the z-scored value, reported in original units."""

    type = "number"
    Config = NumberOutputConfig
    raw_dtype = RAW_FLOAT
    metric_names = ("loss", "mae", "rmse", "r2")
    default_metric = "loss"

    def __init__(self, config: NumberOutputConfig):
        self.config = config

    def fit(self, column: np.ndarray) -> "NumberOutput":
        values = _finite(column)
        if len(values) == 0:
            raise TkError(f"column {self.config.source!r} (output feature {self.config.name!r}): "
                          "target has no numeric values")
        self.mean_, self.std_ = float(values.mean()), float(values.std()) or 1.0
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

    def decoder(self, d_in: int):
        """[N, d_in] → [N] (z-scored prediction)."""
        from toolkit.decoders import RegressionDecoder

        return RegressionDecoder(d_in)

    def loss(self):
        """(pred [N], target [N]) → scalar."""
        import torch

        if self.config.loss.type == "huber":
            return torch.nn.HuberLoss(delta=self.config.loss.delta)
        return torch.nn.MSELoss()

    def predict(self, out: np.ndarray) -> dict[str, np.ndarray]:
        """Decoder output [N] → {"value": [N]} in the target's units."""
        return {"value": out.astype(np.float64) * self.std_ + self.mean_}

    def metrics(self, y: np.ndarray, out: np.ndarray) -> dict[str, float]:
        """`y` z-scored target [N], `out` decoder output [N]."""
        from toolkit import metrics

        return metrics.regression(y * self.std_ + self.mean_, out * self.std_ + self.mean_)

    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the ONNX file's outputs; `y` z-scored target [N]."""
        from toolkit import metrics

        return metrics.regression(y * self.std_ + self.mean_, outputs[f"{self.config.name}::value"])

    def to_onnx_post(self, g, out: str) -> dict[str, tuple[str, list]]:
        """z-scored prediction [N] → `<name>::value` float [N] in the target's units."""
        n = self.config.name
        scaled = g.op("Mul", out, g.const(np.float32(self.std_), name=f"{n}/std"), name=f"{n}/unscale")
        g.op("Add", scaled, g.const(np.float32(self.mean_), name=f"{n}/mean"), name=f"{n}/value",
             outputs=[f"{n}::value"])
        return {f"{n}::value": ("float32", ["N"])}
