"""The design matrix of a GBM: the pre graph's outputs side by side.

Every input feature's `<feature>::pre` tensor is flattened to [N, W] and the
blocks are concatenated in feature order into X float32 [N, F]:

    number    float32 [N, 1] or [N, T] (piecewise-linear)  → W = 1 or T numeric columns
    binary    float32 [N, 1]                                → 1 numeric column
    category  int64 [N] (0 missing, 1 unknown, 2… vocab)   → 1 categorical column: the id, with
                                                              missing (id 0) as NaN, LightGBM's missing
    set       float32 [N, V] multi-hot                      → V numeric columns (the bag)
    text      refused (its feature type says why: InputFeature.tree_input / tree_refusal)

Missing categories are NaN, not a category of their own, so the model is the one
LightGBM builds from a pandas categorical column (NaN goes right of every
category split); as a category, missing cost 0.006 R² on loans_full_schema
(bench/results/gbm.md). Unknown values (id 1) never occur in training, so they
go right too, as unseen categories do in LightGBM.

The same concatenation is written as ONNX nodes (`matrix_onnx`) so the exported
trees read exactly the matrix LightGBM was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from toolkit.errors import TkError
from toolkit.features.category import MISSING_ID  # a missing category's id: NaN in the matrix


def tree_input(feature_type: str) -> str | None:
    """How the trees read an input type: "numeric", "categorical" or None (its feature class says)."""
    from toolkit.features import INPUT_FEATURES

    return INPUT_FEATURES[feature_type].tree_input


@dataclass(frozen=True)
class Block:
    """One input feature's columns in the matrix: X[:, start:start + width]."""

    feature: str
    type: str
    dtype: str  # dtype of `<feature>::pre`: float32 or int64
    rank: int  # 1 for [N], 2 for [N, W]
    width: int
    start: int

    @property
    def pre(self) -> str:
        return f"{self.feature}::pre"

    @property
    def categorical(self) -> bool:
        return tree_input(self.type) == "categorical"


class Layout:
    """Which matrix columns come from which input feature, and which are categorical."""

    def __init__(self, blocks: list[Block]):
        self.blocks = list(blocks)

    @classmethod
    def of(cls, inputs, pre: dict[str, np.ndarray]) -> "Layout":
        """From the fitted input features (in order) and their pre tensors {name: [N, …]}."""
        blocks, start = [], 0
        for i, f in enumerate(inputs):
            name, kind = f.config.name, f.type
            where = f"input_features[{i}] ({name!r}, type {kind})"
            if f.tree_input is None:
                raise TkError(f"{where}: model_type gbm cannot use it: {f.tree_refusal}")
            t = np.asarray(pre[name])
            if t.ndim not in (1, 2):
                raise TkError(f"{where}: pre tensor has shape {t.shape}; gbm needs [N] or [N, W]")
            width = 1 if t.ndim == 1 else int(t.shape[1])
            if f.tree_input == "categorical" and width != 1:
                raise TkError(f"{where}: a categorical block must be one id column, got width {width}")
            blocks.append(Block(name, kind, "int64" if t.dtype.kind in "iu" else "float32", t.ndim, width, start))
            start += width
        if start == 0:
            raise TkError("input_features: model_type gbm needs at least one matrix column")
        return cls(blocks)

    @property
    def n_columns(self) -> int:
        return sum(b.width for b in self.blocks)

    @property
    def categorical(self) -> list[int]:
        """Matrix columns LightGBM treats as categorical (category ids)."""
        return [b.start for b in self.blocks if b.categorical]

    @property
    def column_names(self) -> list[str]:
        """`feature` for one-column blocks, `feature[j]` otherwise (for reports, not for LightGBM)."""
        return [b.feature if b.width == 1 else f"{b.feature}[{j}]" for b in self.blocks for j in range(b.width)]

    def matrix(self, pre: dict[str, np.ndarray]) -> np.ndarray:
        """{feature: pre tensor} → X float32 [N, F]."""
        parts = []
        for b in self.blocks:
            if b.feature not in pre:
                raise TkError(
                    f"gbm layout: block {b.feature!r} is not an input feature of this model "
                    "(gbm.json does not fit features.json)"
                )
            t = np.asarray(pre[b.feature])
            if t.shape[1:] != ((b.width,) if b.rank == 2 else ()):
                raise TkError(
                    f"gbm layout: block {b.feature!r} says {b.width} column(s) of rank {b.rank}, its "
                    f"pre tensor is {list(t.shape[1:])} per row (gbm.json does not fit features.json)"
                )
            x = t.reshape(len(t), b.width).astype(np.float32)
            if b.categorical:
                x[t.reshape(len(t), 1) == MISSING_ID] = np.nan
            parts.append(x)
        return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)

    def per_feature(self, values: np.ndarray) -> dict[str, float]:
        """Column values [F] (e.g. gain) → summed per input feature."""
        return {b.feature: float(np.sum(values[b.start : b.start + b.width])) for b in self.blocks}

    def state(self) -> list[dict]:
        return [asdict(b) for b in self.blocks]

    @classmethod
    def from_state(cls, state: list[dict]) -> "Layout":
        return cls([Block(**b) for b in state])


def matrix_onnx(g, layout: Layout) -> str:
    """Declare the `<feature>::pre` graph inputs and emit X float32 [N, F]."""
    cols = []
    for b in layout.blocks:
        shape = ["N"] if b.rank == 1 else ["N", b.width]
        x = g.input(b.pre, b.dtype, shape)
        if b.dtype != "float32":
            x = g.op("Cast", x, name=f"{b.feature}/gbm_float", to=1)  # FLOAT
        if b.categorical:
            missing = g.op(
                "Equal",
                x,
                g.const(np.float32(MISSING_ID), name=f"{b.feature}/gbm_missing_id"),
                name=f"{b.feature}/gbm_is_missing",
            )
            x = g.op(
                "Where",
                missing,
                g.const(np.float32(np.nan), name=f"{b.feature}/gbm_nan"),
                x,
                name=f"{b.feature}/gbm_missing",
            )
        if b.rank == 1:
            x = g.op(
                "Unsqueeze",
                x,
                g.const(np.array([1], np.int64), name=f"{b.feature}/gbm_axis"),
                name=f"{b.feature}/gbm_column",
            )
        cols.append(x)
    if len(cols) == 1:
        return cols[0]
    return g.op("Concat", *cols, name="gbm/matrix", axis=1)
