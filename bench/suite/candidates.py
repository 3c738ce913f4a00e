"""Candidate tk defaults, as overrides computed from the data's size (tried with `--tk-candidate NAME`).

    overrides = CANDIDATES["wide"](DataInfo(train_rows=3500, inputs=20, task="binary"))
    # {"combiner.hidden_size": 256, ...}: dotted config paths, applied on top of the init-config YAML

Each entry only says what it changes; everything else stays tk's current default. A candidate
that depends on the data looks at nothing but DataInfo (never at a data set's name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataInfo:
    """What a size-dependent default may look at: the training split's shape and the task."""

    train_rows: int
    inputs: int          # input features in the init-config YAML
    task: str            # binary | multiclass | regression


def _none(info: DataInfo) -> dict[str, Any]:
    return {}


CANDIDATES: dict[str, Callable[[DataInfo], dict[str, Any]]] = {
    "none": _none,
}
