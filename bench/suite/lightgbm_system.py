"""The LightGBM anchor of the suite (issue 25, item 4): LightGBM's defaults fit on every training row a split gives.

    r = run_lightgbm(run, columns)   # columns: {input: tk type} from the init-config YAML

`lightgbm.LGBMClassifier()` / `LGBMRegressor()` with default hyperparameters (100 trees, learning
rate 0.1, 31 leaves, no early stopping), fit on train + validation (80 % of the rows; tk learns
from train and early-stops on validation), scored on test: the number a user who tries
LightGBM first gets. Inputs are those tk's init-config chose; categories and binaries as pandas
`category` dtype (LightGBM's native category splits; the categories are those of the fit rows,
a test value unseen there is missing), numbers raw, text columns left out (no text input).
`n_jobs=1` (as HistGradientBoosting runs on one thread here) and `verbose=-1` change no
hyperparameter. Fitting and scoring: sklearn_systems.fit_and_score, as for hgb and linear.
"""

from __future__ import annotations

from typing import Any

from bench.suite.sklearn_systems import fit_and_score


def category_frames(fit, test, columns: dict[str, str]):
    """(x_fit, x_test): categories and binaries as `category` dtype with the fit rows' levels, numbers float."""
    import pandas as pd

    def convert(df, levels):
        return pd.DataFrame(
            {
                c: (
                    pd.to_numeric(df[c], errors="coerce").astype(float)
                    if t == "number"
                    else pd.Categorical(df[c].astype("string"), categories=levels[c])
                )
                for c, t in columns.items()
            },
            index=df.index,
        )

    levels = {c: sorted(fit[c].astype("string").dropna().unique()) for c, t in columns.items() if t != "number"}
    return convert(fit, levels), convert(test, levels)


def build(task: str):
    """LightGBM's defaults for the task (one thread, quiet)."""
    import lightgbm

    model = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    return model(n_jobs=1, verbose=-1)


def run_lightgbm(run, columns: dict[str, str]) -> dict[str, Any]:
    """Fit LightGBM's defaults on train + validation, score them on test; the result dict."""
    import lightgbm

    usable = {c: t for c, t in columns.items() if t != "text"}
    result = fit_and_score(build(run.task), run, usable, frames=category_frames)
    return {**result, "version": lightgbm.__version__}
