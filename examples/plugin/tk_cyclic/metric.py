"""The Brier score of a binary output: mean of (p - y)², p the probability of the true class."""

from __future__ import annotations


def brier(y, outputs) -> float:
    """`y`: 0/1 targets [N]; `outputs`: the output's ONNX outputs without the name prefix
    ({"label": [N], "probabilities": [N, 2]})."""
    import numpy as np

    p = np.asarray(outputs["probabilities"], dtype=np.float64)[:, 1]
    return float(np.mean((p - np.asarray(y, dtype=np.float64)) ** 2)) if len(p) else float("nan")
