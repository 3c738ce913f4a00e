"""5-fold cross_val_score (ROC AUC) on churn: TkClassifier with its defaults beside LogisticRegression.

    python -m bench.sklearn_cv            # prints one line per model: the 5 scores, mean ± std, seconds

The same folds (StratifiedKFold, shuffled, seed 0) for both; the `split` column is dropped. TkClassifier
gets the raw DataFrame (types guessed as `tk init-config` guesses them); LogisticRegression gets the
usual preprocessing: median-imputed, scaled numbers and one-hot categories.
"""

from __future__ import annotations

import time

import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bench.common import ROOT
from toolkit.sklearn import TkClassifier


def main() -> None:
    df = pd.read_csv(ROOT / "examples" / "churn" / "churn.csv")
    X, y = df.drop(columns=["churn", "split"]), df["churn"]
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    logistic = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
        ),
        LogisticRegression(max_iter=2000),
    )
    for name, model in (("TkClassifier()", TkClassifier()), ("LogisticRegression", logistic)):
        start = time.perf_counter()
        scores = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
        print(
            f"{name:20s} ROC AUC {' '.join(f'{s:.4f}' for s in scores)}  mean {scores.mean():.4f} "
            f"± {scores.std():.4f}  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
