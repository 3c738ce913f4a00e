"""The fuzz tests' data (test_fuzz_configs, test_fuzz_rows): the table, random rows, the tally.

- `DF`: one small fixed table (80 rows) with number / binary / category / text /
  set inputs (INPUT_COLUMNS) and binary / category / number targets (TARGETS);
- `record_batches()`: 1-6 records of random raw values per input column;
- `COUNTS`: the tally of examples tried, printed by `print_counts()` after each
  fuzz module (`pytest -s`).
Random configs over DF: tests/fuzz_configs_strategies.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from toolkit.common import log

COUNTS = {"valid_configs": 0, "invalid_configs": 0, "rows": 0, "row_batches": 0, "row_errors": 0}

INPUT_COLUMNS = {"n1": "number", "n2": "number", "b1": "binary", "c1": "category", "t1": "text", "s1": "set"}
TARGETS = {"y_bin": "binary", "y_cat": "category", "y_num": "number"}


def fuzz_frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Every input type, with missing values; three targets that depend on the inputs."""
    rng = np.random.default_rng(seed)
    n1 = rng.normal(size=n)
    c1 = rng.choice(["red", "green", "blue", "Ünïcödé"], size=n)
    b1 = rng.choice(["yes", "no"], size=n)
    words = np.array(["good", "bad", "fine", "awful", "great", "ok", "café", "日本"])
    t1 = [" ".join(rng.choice(words, size=rng.integers(1, 6))) for _ in range(n)]
    members = np.array(["a", "b", "c", "d"])
    s1 = [",".join(rng.choice(members, size=rng.integers(0, 4), replace=False)) for _ in range(n)]
    score = n1 + (c1 == "red") - (b1 == "yes") + rng.normal(scale=0.3, size=n)
    df = pd.DataFrame(
        {
            "n1": n1,
            "n2": rng.exponential(size=n) * 100,
            "b1": b1,
            "c1": c1,
            "t1": t1,
            "s1": s1,
            "y_bin": np.where(score > 0, "Yes", "No"),
            "y_cat": np.select([score < -0.5, score < 0.8], ["low", "mid"], "high"),
            "y_num": score * 10 + 3,
        }
    )
    df.loc[::17, "n1"] = np.nan
    df.loc[::13, "c1"] = None
    df.loc[::11, "b1"] = None
    df.loc[::7, "t1"] = ""
    return df


DF = fuzz_frame()


# ---- rows -----------------------------------------------------------------------

weird_strings = st.one_of(
    st.text(max_size=30),  # any unicode, control characters and lone surrogates included
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\t\n",
            "\ud800",
            "a\udfffb",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "Yes",
            "no",
            "red",
            "RED",
            "a,b",
            ",,,",
            "日本 café",
            "😀" * 3,
            "\u202e",
            "\u0000x",
        ]
    ),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", " ", "😀", "a,"]), st.just(10_000)),
)
weird_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -0.0, 5e-324]),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
)
raw_values = st.one_of(st.none(), weird_strings, weird_numbers)
#: What a number column may hold and both engines coerce (text there is an error: see test_fuzz_rows.py).
numeric_strings = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "NaN",
            "nan",
            "NA",
            "null",
            "None",
            "inf",
            "-inf",
            "1e308",
            "-1e308",
            "1e400",
            " 3.5 ",
            "1e3",
            "-0",
            "0x10"[:1],
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
)
number_values = st.one_of(st.none(), weird_numbers, numeric_strings)


@st.composite
def record_batches(draw):
    n = draw(st.integers(1, 6))
    records = []
    for _ in range(n):
        rec = {}
        for col in INPUT_COLUMNS:
            rec[col] = draw(number_values if INPUT_COLUMNS[col] == "number" else raw_values)
        records.append(rec)
    return records


def print_counts() -> None:
    """Print how many configs and rows the fuzz tests tried so far; turn tk's log back on."""
    print(f"\nfuzz counts: {COUNTS}")
    log.quiet = False
