"""The scikit-learn baselines of the suite, trained in-process on train + validation.

    r = run_sklearn("hgb", run, columns)   # columns: {input: tk type} from the init-config YAML

Both baselines see the inputs tk's init-config chose (columns it skipped are left out for
every system) and fit on train + validation appended (they have no early stopping to feed;
HistGradientBoosting's own early stopping is off below 10,000 rows, and the training part
here is at most 8,000 rows). Scored on test.
- `hgb`: HistGradientBoostingClassifier/Regressor() with default hyperparameters; categories and
  binaries native (ordinal codes, unknown and missing as missing; columns with more than 255
  levels keep their 254 most frequent, the rest grouped, as OrdinalEncoder(max_categories)
  does), numbers raw; text columns are left out (it has no text input).
- `linear`: numbers median-imputed and standard-scaled, categories/binaries one-hot (unknown
  ignored), text TF-IDF (1–2-grams, sublinear tf, min_df 2); LogisticRegression() (C 1,
  lbfgs, max_iter 2000) or Ridge() (alpha 1).
Times: fit (train_s) and predict_proba / predict on the test rows (predict_s), in-process, on one
thread (threadpoolctl; tk picks 1 torch thread for models under 1 M parameters, and OpenMP's
spinning threads on a shared 2-core machine made HistGradientBoosting's times erratic, 4–120 s).
"""

from __future__ import annotations

import time
from typing import Any

from bench.suite.scoring import score

HGB_MAX_CATEGORIES = 255


def frame(df, columns: dict[str, str]):
    """Inputs as the pipelines take them: categories, binaries, text as str ("" missing); numbers float."""
    import pandas as pd

    return pd.DataFrame(
        {
            c: (pd.to_numeric(df[c], errors="coerce").astype(float) if t == "number" else df[c].fillna("").astype(str))
            for c, t in columns.items()
        }
    )


def _hgb(columns: dict[str, str], task: str):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    cats = [c for c, t in columns.items() if t in ("category", "binary")]
    nums = [c for c, t in columns.items() if t == "number"]
    pre = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-1,
                    max_categories=HGB_MAX_CATEGORIES,
                ),
                cats,
            ),
            ("num", "passthrough", nums),
        ],
        verbose_feature_names_out=False,
    )
    mask = [True] * len(cats) + [False] * len(nums)
    model = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return make_pipeline(pre, model(categorical_features=mask))


def _linear(columns: dict[str, str], task: str):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    nums = [c for c, t in columns.items() if t == "number"]
    cats = [c for c, t in columns.items() if t in ("category", "binary")]
    texts = [c for c, t in columns.items() if t == "text"]
    parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)] if nums else []
    parts += [("cat", OneHotEncoder(handle_unknown="ignore"), cats)] if cats else []
    parts += [(f"text_{c}", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), c) for c in texts]
    head = Ridge() if task == "regression" else LogisticRegression(max_iter=2000)
    return make_pipeline(ColumnTransformer(parts), head)


BUILDERS = {"hgb": _hgb, "linear": _linear}
TEXTLESS = {"hgb"}  # systems without a text input: text columns left out


def fit_and_score(model, run, columns: dict[str, str], frames=None) -> dict[str, Any]:
    """Fit an sklearn-API `model` on train + validation, score it on test, on one thread; the result dict.

    frames(fit, test, columns) → (x_fit, x_test) turns the rows into the model's inputs (default: `frame`).
    """
    import pandas as pd
    from threadpoolctl import threadpool_limits

    df = pd.read_csv(run.csv, keep_default_na=True)
    fit = df[df["split"].isin(["train", "validation"])]
    test = df[df["split"] == "test"]
    x_fit, x_test = frames(fit, test, columns) if frames else (frame(fit, columns), frame(test, columns))
    y_fit = fit[run.target].astype(float) if run.task == "regression" else fit[run.target].astype(str)
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        model.fit(x_fit, y_fit)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        if run.task == "regression":
            out = {"pred": model.predict(x_test)}
        else:
            out = {"proba": model.predict_proba(x_test), "classes": list(model.classes_)}
        predict_s = time.perf_counter() - t0
    return {
        "train_s": round(train_s, 3),
        "predict_s": round(predict_s, 4),
        "fit_rows": len(fit),
        "metrics": score(run.task, test[run.target], **out),
    }


def run_sklearn(system: str, run, columns: dict[str, str]) -> dict[str, Any]:
    """Fit `system` (hgb | linear) on train + validation, score it on test; the result dict."""
    usable = {c: t for c, t in columns.items() if system not in TEXTLESS or t != "text"}
    return fit_and_score(BUILDERS[system](usable, run.task), run, usable)
