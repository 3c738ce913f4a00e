"""The suite's metrics, each a call into sklearn.metrics.

scores = score(task, y_true, proba=..., classes=..., pred=...)
PRIMARY["binary"]  # the metric that ranks systems: roc_auc | accuracy | r2 (higher is better)
"""

from __future__ import annotations

PRIMARY = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
SECONDARY = {"binary": "log_loss", "multiclass": "log_loss", "regression": "rmse"}


def score(task: str, y_true, proba=None, classes=None, pred=None) -> dict[str, float]:
    """Metrics of one system on the test rows.

    Classification: `proba` is [N, C] over `classes` (strings, the order of its columns);
    binary scores the probability of classes[1]. Regression: `pred` is [N] floats.
    """
    import numpy as np
    from sklearn import metrics

    if task == "regression":
        y = np.asarray(y_true, dtype=float)
        p = np.asarray(pred, dtype=float)
        return {"r2": float(metrics.r2_score(y, p)), "rmse": float(metrics.root_mean_squared_error(y, p))}
    y = np.asarray(y_true).astype(str)
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)  # float32 outputs: rows off 1 by ~1e-7
    order = np.argsort([str(c) for c in classes])  # log_loss wants the labels sorted
    classes = [str(classes[i]) for i in order]
    proba = proba[:, order]
    out = {"log_loss": float(metrics.log_loss(y, proba, labels=classes))}
    if task == "binary":
        out["roc_auc"] = float(metrics.roc_auc_score(y == classes[1], proba[:, 1]))
    else:
        pred_labels = np.asarray(classes)[proba.argmax(axis=1)]
        out["accuracy"] = float(metrics.accuracy_score(y, pred_labels))
    return out
