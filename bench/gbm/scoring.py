"""Test metrics of one system: ROC AUC + log loss (binary), accuracy + log loss (multiclass), R² + RMSE."""

from __future__ import annotations

import numpy as np


def score(task: str, y, pred) -> dict[str, float]:
    """`y`: 0/1 [N] (binary), class index [N] (multiclass) or value [N]; `pred`: P(1) [N],
    probabilities [N, C] or value [N]."""
    from sklearn import metrics as m

    if task == "binary":
        p = np.clip(np.asarray(pred, np.float64), 1e-15, 1 - 1e-15)
        return {"roc_auc": float(m.roc_auc_score(y, p)), "log_loss": float(m.log_loss(y, p, labels=[0, 1]))}
    if task == "multiclass":
        p = np.asarray(pred, np.float64)
        p = np.clip(p, 1e-15, 1) / np.clip(p, 1e-15, 1).sum(axis=1, keepdims=True)
        return {
            "accuracy": float(m.accuracy_score(y, p.argmax(axis=1))),
            "log_loss": float(m.log_loss(y, p, labels=np.arange(p.shape[1]))),
        }
    return {"r2": float(m.r2_score(y, pred)), "rmse": float(np.sqrt(m.mean_squared_error(y, pred)))}


MAIN_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
