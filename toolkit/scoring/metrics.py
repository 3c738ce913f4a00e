"""Thin wrappers over sklearn.metrics that return plain floats.

A metric that is undefined on the given rows (ROC AUC with one class present)
is NaN, never an exception. Higher is better unless the name is in LOWER_IS_BETTER.

METRICS is the registry of metrics plugins add (toolkit.config.plugins.Registry.metric); numpy is
imported inside the functions, so registering one costs a light command (`tk config render`) nothing.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

from toolkit.scoring.names import LOWER_IS_BETTER

if TYPE_CHECKING:  # annotations only: numpy is imported inside the functions
    import numpy as np

#: name → {"fn": fn(y, outputs) -> float, "outputs": output types, "higher_is_better": bool}; plugins fill it
METRICS: dict[str, dict] = {}


def better(metric: str, a: float, b: float) -> bool:
    """True when value `a` of `metric` is strictly better than `b` (NaN is never better)."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a < b if metric in LOWER_IS_BETTER else a > b


def safe(fn, *args, **kwargs) -> float:
    """fn(*args) as a float; NaN where sklearn finds it undefined (ValueError), warnings silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(fn(*args, **kwargs))
    except ValueError:
        return math.nan


def binary(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """`y` 0/1 [N], `p` probability of 1 [N]."""
    import numpy as np
    from sklearn import metrics as m

    pred = (p >= threshold).astype(int)
    try:  # one call for the three (f1_score, precision_score and recall_score each make it)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            precision, recall, f1, _ = m.precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    except ValueError:
        precision = recall = f1 = math.nan
    from toolkit.scoring.calibration import expected_calibration_error

    proba = np.stack([1 - p, p], axis=1)
    return {
        "roc_auc": safe(m.roc_auc_score, y, p),
        "accuracy": safe(m.accuracy_score, y, pred),
        "f1": float(f1),
        "precision": float(precision),
        "recall": float(recall),
        "log_loss": safe(m.log_loss, y, proba, labels=[0, 1]),
        "ece": expected_calibration_error(y, proba),
    }


def multiclass(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """`y` class index [N], `proba` [N, C]."""
    import numpy as np
    from sklearn import metrics as m

    labels = np.arange(proba.shape[1])
    pred = proba.argmax(axis=1)
    present = np.unique(y)
    if len(present) == proba.shape[1] == 2:
        auc = safe(m.roc_auc_score, y, proba[:, 1])
    elif len(present) == proba.shape[1]:
        auc = safe(m.roc_auc_score, y, proba, multi_class="ovr", labels=labels)
    else:  # one-vs-rest over the classes present, each needs positives and negatives
        aucs = [safe(m.roc_auc_score, (y == c).astype(int), proba[:, c]) for c in present]
        auc = float(np.nanmean(aucs)) if aucs and not all(map(math.isnan, aucs)) else math.nan
    from toolkit.scoring.calibration import expected_calibration_error

    return {
        "accuracy": safe(m.accuracy_score, y, pred),
        "macro_f1": safe(m.f1_score, y, pred, labels=present, average="macro", zero_division=0),
        "roc_auc": auc,
        "log_loss": safe(m.log_loss, y, np.clip(proba, 1e-15, 1), labels=labels),
        "ece": expected_calibration_error(y, proba),
    }


def regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """`y`, `pred` in the target's units [N]."""
    from sklearn import metrics as m

    return {
        "mae": safe(m.mean_absolute_error, y, pred),
        "rmse": math.sqrt(safe(m.mean_squared_error, y, pred)),
        "r2": safe(m.r2_score, y, pred),
    }


def multilabel(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """`y` multi-hot [N, C], `p` probability per label [N, C].

    jaccard: mean over rows of |true ∩ predicted| / |true ∪ predicted| (a row
    with neither counts 1); micro_f1 pools every (row, label) decision;
    macro_f1 averages the per-label F1 over the labels present in `y` or in
    the predictions.
    """
    import numpy as np
    from sklearn import metrics as m

    y = np.asarray(y).astype(int)
    pred = (np.asarray(p) >= threshold).astype(int)
    used = np.flatnonzero(y.any(axis=0) | pred.any(axis=0))
    return {
        "jaccard": safe(m.jaccard_score, y, pred, average="samples", zero_division=1.0),
        "micro_f1": safe(m.f1_score, y, pred, average="micro", zero_division=0),
        "macro_f1": safe(m.f1_score, y[:, used], pred[:, used], average="macro", zero_division=0)
        if len(used)
        else math.nan,
    }
