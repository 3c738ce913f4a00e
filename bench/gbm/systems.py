"""The three systems of the GBM benchmark, each trained on train, early-stopped on validation
(LightGBM, tk) or fitted on train + validation (HistGradientBoosting, which has no validation
input), and scored on test.

    lightgbm   LightGBM called directly: numbers raw (NaN kept), other columns as pandas
               categoricals (LightGBM categorical features), the same parameters as tk's GbmConfig
    tk_gbm     tk's path: features fitted, the pre graph run in onnxruntime, toolkit.models.gbm on its
               outputs (`numbers`: "tk" = tk's default number preprocessing, mean-imputed and
               piecewise-linear [N, 8]; "raw" = a bench-only number feature that passes the raw
               float through, NaN kept, to measure what the imputation costs a GBM)
    hgb        scikit-learn HistGradientBoosting*() defaults, categoricals native
"""

from __future__ import annotations

import time

import numpy as np

from bench.gbm.scoring import score


def _classes(y) -> list[str]:
    return sorted(set(y.astype(str).tolist()))


def _encode(data, frame) -> np.ndarray:
    """Targets as the metrics take them: 0/1, class index (sorted labels) or float."""
    y = frame[data.target]
    if data.task == "regression":
        return y.to_numpy(np.float64)
    classes = _classes(data.frame[data.target])
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in y.astype(str)], dtype=np.int64)


def run_lightgbm(data, cfg) -> dict:
    import lightgbm as lgb
    import pandas as pd

    train, val, test = data.part("train"), data.part("validation"), data.part("test")

    def frame(df):
        out = {}
        for c, t in data.types.items():
            if t == "number":
                out[c] = pd.to_numeric(df[c], errors="coerce").astype(np.float32)
            else:
                cats = sorted(set(train[c].dropna().astype(str)))
                out[c] = pd.Categorical(df[c].astype(str).where(df[c].notna()), categories=cats)
        return pd.DataFrame(out)

    k = len(_classes(data.frame[data.target]))
    params = (
        cfg.lightgbm_params()
        | {
            "binary": {"objective": "binary"},
            "multiclass": {"objective": "multiclass", "num_class": k},
            "regression": {"objective": "regression"},
        }[data.task]
    )
    start = time.perf_counter()
    xt, xv, xs = frame(train), frame(val), frame(test)
    dtrain = lgb.Dataset(xt, _encode(data, train), params={"verbosity": -1})
    dval = lgb.Dataset(xv, _encode(data, val), reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=cfg.num_trees,
        valid_sets=[dval],
        callbacks=[lgb.early_stopping(cfg.early_stop, verbose=False)],
    )
    seconds = time.perf_counter() - start
    pred = booster.predict(xs, num_iteration=booster.best_iteration)
    return {
        "metrics": score(data.task, _encode(data, test), pred),
        "train_s": seconds,
        "rounds": booster.best_iteration,
    }


def run_hgb(data) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    fit = data.frame[data.parts != "test"].reset_index(drop=True)
    test = data.part("test")
    cats = [c for c, t in data.types.items() if t != "number"]
    nums = [c for c, t in data.types.items() if t == "number"]

    def frame(df):
        out = df[cats + nums].copy()
        for c in cats:
            out[c] = df[c].astype(str).where(df[c].notna(), "")
        return out

    pre = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1, max_categories=255
                ),
                cats,
            ),
            ("num", "passthrough", nums),
        ],
        verbose_feature_names_out=False,
    )
    model = (HistGradientBoostingRegressor if data.task == "regression" else HistGradientBoostingClassifier)(
        categorical_features=[True] * len(cats) + [False] * len(nums)
    )
    pipe = make_pipeline(pre, model)
    start = time.perf_counter()
    pipe.fit(frame(fit), _encode(data, fit))
    seconds = time.perf_counter() - start
    xs = frame(test)
    if data.task == "regression":
        pred = pipe.predict(xs)
    else:
        proba = pipe.predict_proba(xs)
        k = len(_classes(data.frame[data.target]))
        full = np.zeros((len(xs), k))
        full[:, pipe.classes_] = proba
        pred = full[:, 1] if data.task == "binary" else full
    return {"metrics": score(data.task, _encode(data, test), pred), "train_s": seconds}
