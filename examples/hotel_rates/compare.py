"""tk with the date type vs scikit-learn's HistGradientBoosting given the same date parts from pandas.

Same rows: both train on split 0 and are scored on split 2 of hotel_rates.csv
(tk also watches split 1 for early stopping; HistGradientBoosting holds out
10 % of split 0 for its own). The baseline gets every other column as tk reads
it (numbers as they are, text columns as pandas categoricals) plus the date
parts tk computes inside model.onnx, computed here in pandas: year, month, day,
weekday, day of year, days since 1970. Prints a markdown table.

    python examples/hotel_rates/compare.py            # ~1 min on 2 cores
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

HERE = Path(__file__).parent
TARGET = "avg_price_per_room"


def date_parts(s: pd.Series) -> pd.DataFrame:
    d = pd.to_datetime(s, format="%Y-%m-%d")
    return pd.DataFrame(
        {
            "year": d.dt.year,
            "month": d.dt.month,
            "day": d.dt.day,
            "weekday": d.dt.day_of_week,
            "day_of_year": d.dt.day_of_year,
            "elapsed_days": (d - pd.Timestamp("1970-01-01")).dt.days,
        },
        index=s.index,
    )


def baseline(df: pd.DataFrame, with_date: bool) -> dict:
    x = df.drop(columns=[TARGET, "split", "arrival_date"])
    for c in [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]:  # < 255 levels each
        x[c] = x[c].astype("category")
    if with_date:
        x = pd.concat([x, date_parts(df["arrival_date"])], axis=1)
    train, test = df["split"] == 0, df["split"] == 2
    t = time.perf_counter()
    model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
    model.fit(x[train], df.loc[train, TARGET])
    seconds = time.perf_counter() - t
    return scores(df.loc[test, TARGET], model.predict(x[test]), seconds)


def tk(df: pd.DataFrame, with_date: bool, init_config: bool = False) -> dict:
    """tk on config.yaml, or (`init_config`) on the YAML `tk init-config` writes for the CSV, as it is."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.config import guess as infer

    log.quiet = True
    text = infer.config_yaml(HERE / "hotel_rates.csv", [TARGET]) if init_config else (HERE / "config.yaml").read_text()
    cfg = yaml.safe_load(text)
    cfg.pop("dataset", None)
    if not with_date:
        cfg["input_features"] = [f for f in cfg["input_features"] if f["type"] != "date"]
    t = time.perf_counter()
    model = train(cfg, df)
    seconds = time.perf_counter() - t
    test = df[df["split"] == 2]
    return scores(test[TARGET], model.predict(test)[f"{TARGET}::value"].to_numpy(), seconds)


def scores(y, pred, seconds: float) -> dict:
    return {
        "r2": r2_score(y, pred),
        "mae": mean_absolute_error(y, pred),
        "rmse": root_mean_squared_error(y, pred),
        "seconds": seconds,
    }


def main() -> None:
    df = pd.read_csv(HERE / "hotel_rates.csv", keep_default_na=False, na_values=[""])
    rows = [
        ("tk, the YAML `tk init-config` writes (model_type: ensemble, defaults)", tk(df, True, init_config=True)),
        ("tk, `arrival_date` as a date (this config)", tk(df, True)),
        ("tk without `arrival_date`", tk(df, False)),
        ("HistGradientBoosting + the same date parts from pandas", baseline(df, True)),
        ("HistGradientBoosting without the date", baseline(df, False)),
    ]
    print(f"test rows: {int((df['split'] == 2).sum())}\n")
    print("| model | test R² | MAE (€) | RMSE (€) | train time |\n|---|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['r2']:.3f} | {s['mae']:.2f} | {s['rmse']:.2f} | {s['seconds']:.1f} s |")


if __name__ == "__main__":
    np.random.seed(0)
    main()
