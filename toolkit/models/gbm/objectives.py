"""Per output type: LightGBM's objective, sample weights and early-stopping metric.

A registry (`OBJECTIVES`) from the output feature's type to a small class that
knows how tk's targets (`encode_target`) and losses map onto LightGBM:

    binary    y 0/1            → objective binary, raw score = logit [N];
                                 positive_class_weight → scale_pos_weight
    category  y class index    → objective multiclass, raw scores [N, C];
                                 class_weights → sample weights
    number    y z-scored       → objective regression (l2), or huber with the
                                 output's delta; raw = z-scored value [N]

The early-stopping metric is tk's metric name: a LightGBM built-in where one
ranks rows the same way (loss, roc_auc, rmse, mae, r2 via l2), else the output
feature's own `score` (the metrics `tk evaluate` reports) as a custom evaluation.
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import TkError
from toolkit.scoring.names import LOWER_IS_BETTER


def score(output, y: np.ndarray, raw: np.ndarray) -> dict[str, float]:
    """tk's metrics of raw scores: the output's `predict` (what its post graph computes), then `score`."""
    n = output.config.name
    outs = {f"{n}::{k}": v for k, v in output.predict(np.asarray(raw, np.float32)).items()}
    return output.score(y, outs)


class _Objective:
    builtin: dict[str, str] = {}

    def __init__(self, output):
        self.output = output
        self.name = output.config.name

    @property
    def n_scores(self) -> int:
        return 1

    def params(self) -> dict:
        raise NotImplementedError

    def weights(self, y: np.ndarray) -> np.ndarray | None:
        return None

    def raw_from_eval(self, preds: np.ndarray) -> np.ndarray:
        """LightGBM's feval predictions (transformed) → raw scores as `predict_raw` gives."""
        return np.asarray(preds, dtype=np.float64)

    def metric(self, metric: str):
        """(LightGBM params for the metric, feval or None)."""
        if metric in self.builtin:
            return {"metric": self.builtin[metric]}, None
        if metric not in getattr(self.output, "metric_names", (metric,)):
            raise TkError(f"trainer.validation_metric: {self.name}.{metric} is not a metric of this output")
        higher = metric not in LOWER_IS_BETTER

        def feval(preds, data):
            value = score(self.output, data.get_label(), self.raw_from_eval(preds))[metric]
            return metric, float(value), higher

        return {"metric": "None"}, feval


class BinaryObjective(_Objective):
    builtin = {"loss": "binary_logloss", "roc_auc": "auc"}

    def params(self) -> dict:
        w = float(getattr(self.output, "pos_weight_", 1.0) or 1.0)
        return {"objective": "binary"} | ({"scale_pos_weight": w} if w != 1.0 else {})

    def raw_from_eval(self, preds):
        p = np.clip(np.asarray(preds, np.float64), 1e-15, 1 - 1e-15)
        return np.log(p) - np.log1p(-p)


class CategoryObjective(_Objective):
    builtin = {"loss": "multi_logloss", "accuracy": "multi_error"}

    @property
    def n_scores(self) -> int:
        return len(self.output.classes)

    def params(self) -> dict:
        return {"objective": "multiclass", "num_class": self.n_scores}

    def weights(self, y):
        w = getattr(self.output, "weights_", None)
        return None if not w else np.asarray(w, np.float64)[y.astype(np.int64)]

    def raw_from_eval(self, preds):
        p = np.asarray(preds, np.float64).reshape(-1, self.n_scores)
        return np.log(np.clip(p, 1e-300, None))  # log-probabilities: logits up to a per-row shift


class NumberObjective(_Objective):
    builtin = {"loss": "l2", "rmse": "rmse", "mae": "l1", "r2": "l2"}

    def params(self) -> dict:
        loss = getattr(self.output.config, "loss", None)
        if loss is not None and loss.type == "huber":
            return {"objective": "huber", "alpha": float(loss.delta)}
        return {"objective": "regression"}

    def metric(self, metric):
        params, feval = super().metric(metric)
        if metric == "loss" and self.params()["objective"] == "huber":
            return {"metric": "huber"}, None
        return params, feval


OBJECTIVES = {"binary": BinaryObjective, "category": CategoryObjective, "number": NumberObjective}


def objective_for(output, index: int) -> _Objective:
    """The objective of output feature `output` (position `index` in output_features)."""
    if output.type not in OBJECTIVES:
        raise TkError(
            f"output_features[{index}] ({output.config.name!r}, type {output.type}): model_type gbm "
            f"supports outputs of type {', '.join(OBJECTIVES)}"
        )
    return OBJECTIVES[output.type](output)
