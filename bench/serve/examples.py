"""The example models bench.serve and bench.serve_faults serve: training them, their rows as a
JSON client sends them, and the Predictor's in-process ceiling.
"""

from __future__ import annotations

import csv
import timeit
from pathlib import Path

from bench.common import ROOT

EXAMPLES = {  # name: (config, data file); the model is trained from the config unless --trained NAME=DIR
    "churn": ("examples/churn/config.yaml", "examples/churn/churn.csv"),
    "reviews": ("examples/reviews/config.yaml", "examples/reviews/reviews.csv"),
}
DEFAULT_CONFIGS = {"churn": "1:tk,2:tk,1:bentoml,2:bentoml", "reviews": "1:tk,2:tk,2:bentoml"}


def records(name: str, n: int | None = None) -> list[dict]:
    with open(ROOT / EXAMPLES[name][1], newline="") as f:
        reader = csv.DictReader(f)
        return [r for _, r in zip(range(n), reader)] if n else list(reader)


def sample_row(model_dir: Path, name: str) -> dict:
    """The data's first row, as a JSON client sends it (blank number → null)."""
    from toolkit.runtime.predictor import Predictor

    inputs = Predictor(model_dir).inputs
    rec = records(name, 1)[0]
    return {c: (None if rec[c] == "" else float(rec[c]) if t == "tensor(float)" else rec[c]) for c, t in inputs.items()}


def predictor_ceiling(model_dir: Path, name: str) -> list[dict]:
    """In-process Predictor.predict rows/s at a few batch sizes (best of 5)."""
    from toolkit.runtime.predictor import Predictor

    data = records(name, 1024)
    out = []
    for threads in (1, 2):
        p = Predictor(model_dir, threads=threads)
        for n in (1, 32, 1024):
            cols = {c: [r[c] for r in data[:n]] for c in p.inputs}
            number = max(1, 300 // n)
            best = min(timeit.repeat(lambda: p.predict(cols), number=number, repeat=5)) / number
            out.append(
                {"threads": threads, "rows": n, "ms_per_call": round(best * 1000, 3), "rows_per_s": round(n / best)}
            )
    return out


def train_example(name: str, dest: Path) -> Path:
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    train(ROOT / EXAMPLES[name][0], output=dest)
    return dest
