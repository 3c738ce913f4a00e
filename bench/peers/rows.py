"""The test rows of the peers benchmark: tiled to a batch size, as JSON objects, and scored.

    tile_rows(test, 1000); json_row(test.iloc[0]); metrics(outputs, test, {output: predictions})

The same for every system, so their figures compare: one scoring of every system's predictions.
"""

from __future__ import annotations

import math
from typing import Any


def tile_rows(df, n: int):
    """The first n rows of df, repeating it when it has fewer (test sets under 1,000 rows)."""
    import pandas as pd

    if len(df) >= n:
        return df.iloc[:n].reset_index(drop=True)
    return pd.concat([df] * math.ceil(n / len(df)), ignore_index=True).iloc[:n]


def metrics(outputs, test, preds: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{output: {metric: value}} with sklearn.metrics: ROC AUC of P(positive) for binary,
    accuracy of the labels for category, R² of the values for number.

    outputs: [datasets.Output]; test: the test DataFrame; preds: {output: array [N]}
    (P(positive), label strings or values).
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    out = {}
    for o in outputs:
        y, p = test[o.name], np.asarray(preds[o.name])
        if o.type == "binary":
            out[o.name] = {"roc_auc": float(roc_auc_score((y.astype(str) == o.positive).to_numpy(), p.astype(float)))}
        elif o.type == "category":
            out[o.name] = {"accuracy": float(accuracy_score(y.astype(str).to_numpy(), p.astype(str)))}
        else:
            out[o.name] = {"r2": float(r2_score(y.to_numpy(dtype=float), p.astype(float)))}
    return out


def json_row(row) -> dict[str, Any]:
    """One DataFrame row as a JSON object (NaN → null, numpy scalars → Python)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, float) and math.isnan(v):
            out[k] = None
        else:
            out[k] = v.item() if hasattr(v, "item") else v
    return out
