"""Feature type `cyclic`: a number on a circle (hour of day, weekday, month).

Input preprocessing (ONNX, float32 [N] → float32 [N, 3]):
    r = fmod(x, period)                    exact, so 1e30 or -6 still lands on the circle
    angle = 2π · r / period
    [sin(angle), cos(angle), 0]            for a finite x
    [fill_sin, fill_cos, 1]                for NaN and ±inf: the training values' mean point, flagged
Learned (`fit`): fill_sin, fill_cos = mean of sin and cos over the finite training values.
Encoder: dense (Linear + ReLU → [N, size]) or passthrough ([N, 3]).

Everything tk asks of an input type is here: config, accumulator, JSON state, the ONNX nodes,
the torch encoder, the web form field, hostile values, report hints. `toolkit.testing.check_feature`
holds it to that contract (tests/test_plugins_contract.py, and `tk train` before it uses the type).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from toolkit.features.base import (
    EDGE_FLOATS,
    RAW_FLOAT,
    Accumulator,
    FeatureConfig,
    InputFeature,
    StrictModel,
)


class CyclicPreprocessing(StrictModel):
    period: float = Field(
        24.0, gt=0, description="One full cycle in the column's units: 24 for hours, 7 for weekdays, 12 for months."
    )


class CyclicEncoder(StrictModel):
    type: Literal["dense", "passthrough"] = "dense"
    size: int = Field(8, gt=0, description="Output width of the dense encoder.")


class CyclicInputConfig(FeatureConfig):
    type: Literal["cyclic"]
    preprocessing: CyclicPreprocessing = CyclicPreprocessing()
    encoder: CyclicEncoder = CyclicEncoder()


class CyclicAccumulator(Accumulator):
    """Sums of sin and cos over the finite values, chunk by chunk."""

    def __init__(self, feature):
        super().__init__(feature)
        self.sin_sum = self.cos_sum = 0.0
        self.finite = 0

    def update(self, column) -> None:
        import numpy as np

        self.count(column)
        x = np.asarray(column, dtype=np.float64)
        x = x[np.isfinite(x)]
        period = self.feature.config.preprocessing.period
        angle = 2 * math.pi * np.fmod(x, period) / period
        self.sin_sum += float(np.sin(angle).sum())
        self.cos_sum += float(np.cos(angle).sum())
        self.finite += len(x)

    def finish(self):
        n = max(self.finite, 1)
        self.feature.fill_sin_, self.feature.fill_cos_ = self.sin_sum / n, self.cos_sum / n
        return self.feature


class CyclicInput(InputFeature):
    """A number that wraps around → its point on the unit circle and a missing flag."""

    type = "cyclic"
    Config = CyclicInputConfig
    raw_dtype = RAW_FLOAT
    pre_dtype = "float32"
    tree_input = "numeric"  # trees read the three columns as numbers

    def accumulator(self) -> CyclicAccumulator:
        return CyclicAccumulator(self)

    def state(self) -> dict:
        return {"fill_sin": self.fill_sin_, "fill_cos": self.fill_cos_}

    @classmethod
    def from_state(cls, config: CyclicInputConfig, state: dict) -> CyclicInput:
        self = cls(config)
        self.fill_sin_, self.fill_cos_ = state["fill_sin"], state["fill_cos"]
        return self

    def to_onnx(self, g, raw: str) -> str:
        """float32 [N] → float32 [N, 3] (see the module docstring)."""
        import numpy as np

        n, period = self.config.name, self.config.preprocessing.period
        f32 = np.float32
        bad = g.op(
            "Or", g.op("IsNaN", raw, name=f"{n}/isnan"), g.op("IsInf", raw, name=f"{n}/isinf"), name=f"{n}/not_finite"
        )
        x = g.op("Where", bad, g.const(f32(0), name=f"{n}/zero"), raw, name=f"{n}/finite")
        r = g.op("Mod", x, g.const(f32(period), name=f"{n}/period"), name=f"{n}/wrap", fmod=1)
        angle = g.op("Mul", r, g.const(f32(2 * math.pi / period), name=f"{n}/radians"), name=f"{n}/angle")
        axis = g.const(np.array([1], dtype=np.int64), name=f"{n}/axis")
        cols = []
        for fn, fill in (("Sin", self.fill_sin_), ("Cos", self.fill_cos_)):
            v = g.op(fn, angle, name=f"{n}/{fn.lower()}")
            v = g.op("Where", bad, g.const(f32(fill), name=f"{n}/fill_{fn.lower()}"), v, name=f"{n}/{fn.lower()}_fill")
            cols.append(g.op("Unsqueeze", v, axis, name=f"{n}/{fn.lower()}_col"))
        flag = g.op("Cast", bad, name=f"{n}/missing", to=1)  # FLOAT
        cols.append(g.op("Unsqueeze", flag, axis, name=f"{n}/missing_col"))
        return g.op("Concat", *cols, name=f"{n}/pre", axis=1)

    def output_width(self) -> int:
        e = self.config.encoder
        return e.size if e.type == "dense" else 3

    def encoder(self):
        """float [N, 3] → [N, size] (dense) or the same [N, 3] (passthrough)."""
        from toolkit.nn.encoders import DenseEncoder, Passthrough

        e = self.config.encoder
        return DenseEncoder(3, e.size) if e.type == "dense" else Passthrough()

    def form_field(self, sample=None) -> dict:
        period = self.config.preprocessing.period
        return {"default": 0.0, "min": 0.0, "max": period}

    def edge_values(self) -> list:
        period = self.config.preprocessing.period
        return list(EDGE_FLOATS) + [period, -period / 4, period * 0.999, 2.5 * period, 1e9 + 0.5]
