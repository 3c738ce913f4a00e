"""Candidate tk defaults, as overrides computed from the data's size (tried with `--tk-candidate NAME`).

    overrides = CANDIDATES["sized_batch"](DataInfo(train_rows=3500, inputs=20, task="binary"))
    # {"trainer.batch_size": 256}: dotted config paths, applied on top of the init-config YAML

Each entry only says what it changes; everything else stays tk's current default. A candidate
that depends on the data looks at nothing but DataInfo (never at a data set's name).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataInfo:
    """What a size-dependent default may look at: the training split's shape and the task."""

    train_rows: int
    inputs: int  # input features in the init-config YAML
    task: str  # binary | multiclass | regression


def _pow2(x: float, lo: int, hi: int) -> int:
    """The power of two nearest x (in log scale), clipped to [lo, hi]."""
    return int(min(hi, max(lo, 2 ** round(math.log2(max(x, 1.0))))))


def _none(info: DataInfo) -> dict[str, Any]:
    """tk's current defaults."""
    return {}


def _sized_batch(info: DataInfo) -> dict[str, Any]:
    """Batch ≈ train rows / 20 (32–256): ≥ ~20 steps per epoch on small sets, fewer on large ones."""
    return {"trainer.batch_size": _pow2(info.train_rows / 20, 32, 256)}


def _steps_per_epoch(info: DataInfo, batch: int) -> int:
    return max(1, math.ceil(info.train_rows / batch))


def _sized_steps(info: DataInfo) -> dict[str, Any]:
    """sized_batch, and enough epochs for ~2,000 optimizer steps (50–200 epochs; early stopping still cuts)."""
    batch = _pow2(info.train_rows / 20, 32, 256)
    epochs = min(200, max(50, math.ceil(2000 / _steps_per_epoch(info, batch))))
    return {"trainer.batch_size": batch, "trainer.epochs": epochs}


def _min_steps(info: DataInfo) -> dict[str, Any]:
    """The present batch (128), epochs raised for ~2,000 optimizer steps (50–300 epochs)."""
    return {"trainer.epochs": min(300, max(50, math.ceil(2000 / _steps_per_epoch(info, 128))))}


WIDE = {"combiner.hidden_size": 256, "combiner.num_layers": 3}  # RealMLP's and TabM's 256-wide, 3-deep MLP


def _sized_wide(info: DataInfo) -> dict[str, Any]:
    """sized_steps with a 256 × 3 MLP instead of 64 × 2."""
    return {**_sized_steps(info), **WIDE}


def _sized_wide_bins16(info: DataInfo) -> dict[str, Any]:
    """sized_wide with 16 piecewise-linear bins per number instead of 8."""
    return {**_sized_wide(info), "input_features[type=number].encoder.bins": 16}


CANDIDATES: dict[str, Callable[[DataInfo], dict[str, Any]]] = {
    "none": _none,
    "sized_batch": _sized_batch,
    "sized_steps": _sized_steps,
    "min_steps": _min_steps,
    "sized_wide": _sized_wide,
    "sized_wide_bins16": _sized_wide_bins16,
}
