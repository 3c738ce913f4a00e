"""What one system row of peers.json measured: its primary test metric, its median predict latency on a
route, its served rate; and which tk row of a dataset is the one the targets use and tk serves.

    primary_metric(row, "churned"); median_ms(row, "predictor", "1"); served(row, "c32"); tk_row(dataset)
"""

from __future__ import annotations

TK_SERVED = "example"  # the example's config where examples/ has one, else tk init-config's default


def primary_metric(row: dict, primary: str) -> float | None:
    """The row's test metric on output `primary` (its only metric), or None when it has none."""
    m = row.get("metrics", {}).get(primary)
    return next(iter(m.values())) if m else None


def system_label(row: dict) -> str:
    """The row's system name as the tables and charts show it."""
    return row.get("system", "?")


def tk_row(ds: dict) -> dict | None:
    """The tk row of a dataset that the targets use and tk's service serves: TK_SERVED's, else the first."""
    rows = [s for s in ds["systems"] if s.get("family") == "tk" and "error" not in s]
    return next((s for s in rows if s["config"] == TK_SERVED), rows[0] if rows else None)


def median_ms(row: dict | None, route: str, n: str = "1") -> float | None:
    """The median ms of one predict call of n rows on `route` (e.g. "predictor", "skl2onnx"), or None."""
    try:
        return row["latency"][route][n]["median_ms"]
    except (KeyError, TypeError):
        return None


def served(row: dict | None, c: str = "c32") -> dict | None:
    """The row's served load run at concurrency `c` ("c1", "c32"), or None when it was not served or failed."""
    s = (row or {}).get("serving")
    return s.get(c) if s and "error" not in s else None
