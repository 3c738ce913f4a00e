"""Probabilities people can trust: temperature scaling and a chosen threshold, fitted on validation rows.

    T = fit_temperature(logits, y)            # logits [N] (binary) or [N, C]; y 0/1 or class index [N]
    p = probabilities(logits / T)             # the post graph divides by T before Sigmoid / Softmax
    t = best_threshold(y, p1, "f1")           # binary: the cut-off that maximises a metric
    expected_calibration_error(y, proba)      # 15 equal-width bins of the predicted class's probability

Temperature scaling (Guo et al., 2017) rescales every logit by one positive
number fitted to minimise the validation log loss: the ranking of the rows
(ROC AUC), the argmax and a binary label at 0.5 are unchanged; only the
probabilities move.
"""

from __future__ import annotations

import math

import numpy as np

#: Metrics a binary threshold can be chosen for (all higher-is-better, all from sklearn.metrics).
THRESHOLD_METRICS = ("f1", "accuracy", "balanced_accuracy", "mcc")
ECE_BINS = 15


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Logits [N] → [N, 2] (sigmoid) or [N, C] → [N, C] (softmax), float64."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 1:
        p = 1.0 / (1.0 + np.exp(-z))
        return np.stack([1 - p, p], axis=1)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of class index `y` [N] under `proba` [N, C]."""
    p = np.clip(proba[np.arange(len(y)), y.astype(int)], 1e-15, 1.0)
    return float(-np.log(p).mean()) if len(y) else math.nan


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """T > 0 minimising the log loss of `logits / T` on (`logits`, `y`); 1.0 without rows or classes."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(y).astype(int)
    if len(y) < 2 or len(np.unique(y)) < 2:
        return 1.0
    z = np.asarray(logits, dtype=np.float64)
    found = minimize_scalar(
        lambda log_t: log_loss(y, probabilities(z / math.exp(log_t))),
        bounds=(-4.0, 4.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    t = math.exp(float(found.x))
    return t if log_loss(y, probabilities(z / t)) < log_loss(y, probabilities(z)) else 1.0


def best_threshold(y: np.ndarray, p: np.ndarray, metric: str = "f1") -> float:
    """The cut-off on P(true) [N] that maximises `metric` of (`y`, p ≥ cut-off); ties → the one nearest 0.5,
    so 0.5 (always a candidate) stays unless another cut-off does strictly better."""
    from sklearn import metrics as m

    score = {
        "f1": lambda a, b: m.f1_score(a, b, zero_division=0),
        "accuracy": m.accuracy_score,
        "balanced_accuracy": m.balanced_accuracy_score,
        "mcc": m.matthews_corrcoef,
    }[metric]
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        return 0.5
    candidates = np.unique(np.append(np.clip(np.quantile(p, np.linspace(0.01, 0.99, 99)), 1e-4, 1 - 1e-4), 0.5))
    values = np.array([score(y, (p >= c).astype(int)) for c in candidates])
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> float:
    """Σ_bins (rows in bin / N) · |accuracy − mean confidence| over the predicted class's probability."""
    y = np.asarray(y).astype(int)
    if not len(y):
        return math.nan
    conf, pred = proba.max(axis=1), proba.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        rows = which == b
        if rows.any():
            total += rows.mean() * abs(float((pred[rows] == y[rows]).mean()) - float(conf[rows].mean()))
    return float(total)
