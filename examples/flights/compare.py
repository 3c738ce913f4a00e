"""tk with the date type vs scikit-learn's HistGradientBoosting given the same date parts from pandas.

Same rows: both train on split 0 and are scored on split 2 of flights.csv (tk
also watches split 1 for early stopping; HistGradientBoosting holds out 10 %
of split 0 for its own). The baseline gets the other columns as tk reads them
(numbers as they are, text columns as pandas categoricals) plus the date parts
of the config, computed in pandas from `time_hour` (UTC, as tk reads "…Z"):
month, weekday, day of year, hour, days since 1970. Prints a markdown table.

    python examples/flights/compare.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

HERE = Path(__file__).parent
TARGET, DATE = "delayed", "time_hour"


def date_parts(s: pd.Series) -> pd.DataFrame:
    d = pd.to_datetime(s, format="%Y-%m-%dT%H:%M:%SZ")
    elapsed = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
    return pd.DataFrame(
        {
            "month": d.dt.month,
            "weekday": d.dt.day_of_week,
            "day_of_year": d.dt.day_of_year,
            "hour": d.dt.hour,
            "elapsed_days": elapsed,
        },
        index=s.index,
    )


def baseline(df: pd.DataFrame, with_date: bool) -> dict:
    x = df.drop(columns=[TARGET, "split", DATE])
    for c in [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]:  # < 255 levels each
        x[c] = x[c].astype("category")
    if with_date:
        x = pd.concat([x, date_parts(df[DATE])], axis=1)
    train, test = df["split"] == 0, df["split"] == 2
    t = time.perf_counter()
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(x[train], df.loc[train, TARGET])
    seconds = time.perf_counter() - t
    yes = list(model.classes_).index("yes")
    return scores(df.loc[test, TARGET], model.predict_proba(x[test])[:, yes], seconds)


def tk(df: pd.DataFrame, with_date: bool, change=None, init_config: bool = False) -> dict:
    """tk on config.yaml, or (`init_config`) on the YAML `tk init-config` writes for the CSV, as it is."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.config import guess as infer

    log.quiet = True
    text = infer.config_yaml(HERE / "flights.csv", [TARGET]) if init_config else (HERE / "config.yaml").read_text()
    cfg = yaml.safe_load(text)
    cfg.pop("dataset", None)
    if not with_date:
        cfg["input_features"] = [f for f in cfg["input_features"] if f["type"] != "date"]
    if change:
        change(cfg)
    t = time.perf_counter()
    model = train(cfg, df)
    seconds = time.perf_counter() - t
    test = df[df["split"] == 2]
    return scores(test[TARGET], model.predict(test)[f"{TARGET}::probability::yes"].to_numpy(), seconds)


def scores(y, p_yes, seconds: float) -> dict:
    return {
        "roc_auc": roc_auc_score(y == "yes", p_yes),
        "accuracy": accuracy_score(y == "yes", p_yes >= 0.5),
        "seconds": seconds,
    }


def main() -> None:
    df = pd.read_csv(HERE / "flights.csv", keep_default_na=False, na_values=[""])
    rows = [
        ("tk, the YAML `tk init-config` writes (model_type: ensemble, defaults)", tk(df, True, init_config=True)),
        ("tk, `time_hour` as a date (this config)", tk(df, True)),
        ("tk without `time_hour`", tk(df, False)),
        ("HistGradientBoosting + the same date parts from pandas", baseline(df, True)),
        ("HistGradientBoosting without the date", baseline(df, False)),
    ]
    print(f"test rows: {int((df['split'] == 2).sum())}, delayed: {(df[TARGET] == 'yes').mean():.3f}\n")
    print("| model | test ROC AUC | accuracy | train time |\n|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['roc_auc']:.3f} | {s['accuracy']:.3f} | {s['seconds']:.1f} s |")


if __name__ == "__main__":
    np.random.seed(0)
    sys.exit(main())
