"""Scores of a split from the torch model's decoder outputs: each output's loss and metrics.

The losses are computed on the CPU from numpy predictions, so the training
device (and where its loss weights live) never matters here; the metrics are
the output feature's own `score_raw` (its `score` over its `predict`), the
same numbers `tk evaluate` gets from the ONNX file.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from toolkit.features.base import known_rows


def score_predictions(
    outputs, preds: list[np.ndarray], ys: list[np.ndarray], metrics_for: set[str] | None = None
) -> dict[str, dict[str, float]]:
    """{output name: {"loss": …, metric: …}} from decoder outputs [N] / [N, C] and encoded targets (numpy).

    Every output gets its loss; the other metrics only the outputs in `metrics_for` (all when None).
    """
    result = {}
    for f, pred, y in zip(outputs, preds, ys):
        keep = known_rows(y)
        loss = math.nan
        if keep.any():
            with torch.no_grad():
                loss = float(f.loss()(torch.from_numpy(pred[keep]), torch.from_numpy(y[keep])))
        result[f.config.name] = {"loss": loss}
        if metrics_for is None or f.config.name in metrics_for:
            result[f.config.name] |= f.score_raw(y[keep], pred[keep])
    return result


def evaluate(model, outputs, split, ctx, metrics_for: set[str] | None = None) -> dict[str, dict[str, float]]:
    """`score_predictions` of the model on one split (toolkit.training.batches), every rank's rows together."""
    preds, ys = split.predictions(model, ctx)
    if preds is None:
        return {f.config.name: {"loss": math.nan} for f in outputs}
    return score_predictions(outputs, preds, ys, metrics_for)
