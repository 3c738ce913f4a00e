"""Shared by the `tk init-config` tests (tests/test_init_config*.py): the example data's paths, the CLI run
in a subprocess, a CSV writer, a mixed table, and the feature types read back from the YAML written.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn" / "churn.csv"
REVIEWS = ROOT / "examples" / "reviews" / "reviews.csv"


def tk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", *args], cwd=cwd or ROOT, capture_output=True, text=True, timeout=60
    )


def types(text: str) -> tuple[dict, dict, dict]:
    cfg = yaml.safe_load(text)
    return (
        {f["name"]: f["type"] for f in cfg["input_features"]},
        {f["name"]: f["type"] for f in cfg["output_features"]},
        cfg,
    )


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def mixed_rows(n: int = 120) -> list[dict]:
    words = "the quick brown fox jumps over a lazy dog then runs far away".split()
    return [
        {
            "customer_id": f"C-{i:05d}",
            "row_number": 1000 + 7 * i,
            "country": "NZ",
            "nothing": "",
            "comment": " ".join(words[(i * k) % len(words)] for k in range(1, 5 + i % 4)) + f" #{i}",
            "signup": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "color": ["red", "green", "blue", "Red"][i % 4],
            "vip": ["Yes", "no"][i % 2],
            "kids": i % 4,
            "income": "?" if i % 40 == 0 else str(20000 + 37 * i),
            "plan_code": f"{i % 5:03d}",
            "label": ["a", "b", "c"][i % 3],
        }
        for i in range(n)
    ]
