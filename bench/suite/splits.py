"""Repeated stratified 70/10/20 splits, one per seed.

    parts = split_labels(df[target], task, seed)   # array of "train" / "validation" / "test"

Classification stratifies on the label; regression on the target's quantile bins
(QUANTILE_BINS, fewer when values repeat). Within each stratum the rows are
shuffled with numpy's default_rng(seed) and cut at 70 % and 80 %.
"""

from __future__ import annotations

RATIOS = (0.7, 0.1, 0.2)
QUANTILE_BINS = 10
PARTS = ("train", "validation", "test")


def strata(target, task: str):
    """One stratum label per row: the class, or the target's quantile bin for regression."""
    import pandas as pd

    if task == "regression":
        return pd.qcut(target.astype(float), QUANTILE_BINS, labels=False, duplicates="drop").to_numpy()
    return target.astype(str).to_numpy()


def split_labels(target, task: str, seed: int):
    """ "train" / "validation" / "test" per row, stratified, reproducible from `seed`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    groups = strata(target, task)
    out = np.empty(len(groups), dtype=object)
    for g in sorted(set(groups.tolist()), key=str):
        index = rng.permutation(np.flatnonzero(groups == g))
        n_train = int(round(RATIOS[0] * len(index)))
        n_val = int(round(RATIOS[1] * len(index)))
        out[index[:n_train]] = PARTS[0]
        out[index[n_train : n_train + n_val]] = PARTS[1]
        out[index[n_train + n_val :]] = PARTS[2]
    return out
