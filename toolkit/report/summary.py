"""The table `tk train` prints when it is done.

    best epoch 26 of 34 (churn.loss 0.4075, stopped early)
    metrics of the model trained on the train split, on each split's rows; the saved model was then refit …
    output  metric   train (4,929 rows)   validation (703 rows)  test (1,411 rows)
    churn   loss     0.4043               0.4075                 0.4176
    …
    train time 3.9 s + refit 2.2 s · model.onnx 23.4 KiB · ONNX latency, 1 row: median 0.21 ms (50 runs)

The latency is measured through toolkit.runtime.predictor.Predictor (what `tk serve`
and `tk predict` run) on a single row, after one warm-up run; it is a rough
figure on a possibly busy machine, not a benchmark (see bench/).
"""

from __future__ import annotations

import time
from pathlib import Path

LATENCY_RUNS = 50


def onnx_latency_ms(predictor, row: dict | None = None, runs: int = LATENCY_RUNS) -> float:
    """Median milliseconds of `predictor.run` on one row (default: every input missing)."""
    import numpy as np

    if row is None:
        row = {name: None for name in predictor.inputs}
    records = [row]
    predictor.run(records)  # warm-up: first run allocates
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        predictor.run(records)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def train_summary(model, output_dir: Path | None, row: dict | None = None):
    """The rich renderables of the summary: (headline, table, footer line)."""
    from rich.table import Table

    stats = model.stats
    splits = list(stats.get("metrics", {}))
    epochs = len(stats.get("epochs", []))
    early = ", stopped early" if stats.get("stopped_early") else ""
    headline = (
        f"best epoch {stats.get('best_epoch')} of {epochs} "
        f"({stats.get('validation_metric')} {stats.get('best_value', float('nan')):.4f}{early})"
    )
    rows = stats.get("data", {}).get("rows_per_split", {})
    refit = stats.get("refit")
    if refit:  # an ensemble says it per member
        refit_rows = refit.get("rows") or max((m or {}).get("rows", 0) for m in refit.values() if isinstance(m, dict))
        title = (
            f"metrics of the model trained on the train split; the saved model was then refit on train + "
            f"validation ({refit_rows:,} rows): score it on data of your own with `tk evaluate`"
        )
    else:
        title = "metrics per split (the model learned from the train rows only)"
    table = Table(title=title, title_justify="left")
    table.add_column("output")
    table.add_column("metric")
    for s in splits:
        table.add_column(f"{s} ({rows[s]:,} rows)" if s in rows else s, justify="right")
    first = stats["metrics"][splits[0]] if splits else {}
    for out, values in first.items():
        for name in values:
            table.add_row(out, name, *[_fmt(stats["metrics"][s].get(out, {}).get(name)) for s in splits])
    parts = [f"train time {stats.get('train_seconds', float('nan')):.1f} s"]
    if refit and "seconds" in refit:
        parts[0] += f" + refit {refit['seconds']:.1f} s"
    onnx_path = Path(output_dir) / "model.onnx" if output_dir is not None else None
    if onnx_path is not None and onnx_path.exists():
        parts.append(f"model.onnx {onnx_path.stat().st_size / 1024:.1f} KiB")
    else:
        parts.append(f"model.onnx {len(model.onnx_bytes) / 1024:.1f} KiB (not saved)")
    latency = onnx_latency_ms(model.predictor, row)  # the session the model already holds (same bytes)
    parts.append(f"ONNX latency, 1 row: median {latency:.2f} ms ({LATENCY_RUNS} runs)")
    return headline, table, " · ".join(parts)


def print_train_summary(model, output_dir: Path | None, row: dict | None = None) -> None:
    """Print the summary table on stderr (where tk's progress goes); nothing when log.quiet."""
    from toolkit.common import log

    if log.quiet:
        return
    headline, table, footer = train_summary(model, output_dir, row)
    console = log.console()
    console.print(headline, markup=False)
    console.print(table)
    console.print(footer, markup=False)


def _fmt(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.4f}"
