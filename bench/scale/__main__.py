"""`python -m bench.scale`: train and predict at 1 M and 4 M rows, write scale.json and scale.md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import bench.scale
from bench.common import RESULTS, command_line
from bench.scale.data import DATA, make_data
from bench.scale.runs import predict_speed, train_one


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=bench.scale.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000])
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for scale.json and scale.md")
    args = ap.parse_args(argv)
    work = DATA / "work"
    work.mkdir(parents=True, exist_ok=True)
    (DATA / ".gitignore").write_text("*\n")  # generated data and models stay out of git
    runs = []
    for size in args.sizes:
        data = make_data(size)
        for n in args.nproc:
            r = train_one(data, n, args.epochs, work)
            print(json.dumps(r), flush=True)
            runs.append(r)
    pred = predict_speed(runs[0]["model"], make_data(args.sizes[0]), work)
    print(json.dumps(pred), flush=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "command": command_line("bench.scale", argv),
        "cores": os.cpu_count(),
        "runs": runs,
        "predict": pred,
    }
    by = {(r["rows"], r["nproc"]): r for r in runs}
    small, big = min(args.sizes), max(args.sizes)
    ratios = {}
    for n in args.nproc:
        s = next((r for (rows, p), r in by.items() if p == n and rows <= small * 1.1), None)
        b = next((r for (rows, p), r in by.items() if p == n and rows >= big * 0.9), None)
        if s and b and s is not b:
            ratios[f"{n}p"] = {
                "rss_ratio": b["peak_rss_mib_max_process"] / s["peak_rss_mib_max_process"],
                "epoch_time_ratio": b["seconds_per_epoch"] / s["seconds_per_epoch"],
            }
    result["ratios"] = ratios
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# Scale benchmark ({result['date']}, {result['cores']} cores, shared machine: noisy)",
        "",
        f"`{result['command']}`",
        "",
        "| rows | processes | s / epoch | peak RSS, largest process (MiB) | peak RSS, all (MiB) | test ROC AUC |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['rows']:,} | {r['nproc']} | {r['seconds_per_epoch']:.1f} | "
            f"{r['peak_rss_mib_max_process']:.0f} | {r['peak_rss_mib_sum']:.0f} | "
            f"{(r['test_roc_auc'] or float('nan')):.4f} |"
        )
    lines += [
        "",
        "| processes | RSS 4M / 1M (target ≤ 1.3) | time per epoch 4M / 1M (target ≤ 4.4) |",
        "|---:|---:|---:|",
    ]
    for k, v in ratios.items():
        lines.append(f"| {k} | {v['rss_ratio']:.2f} | {v['epoch_time_ratio']:.2f} |")
    lines += [
        "",
        f"Prediction: Predictor (onnxruntime) on 65,536 in-memory rows: "
        f"{pred['predictor_rows_per_s']:,.0f} rows/s; `tk predict` Parquet → Parquet streamed: "
        f"{pred['tk_predict_rows']:,} rows in {pred['tk_predict_wall_s']:.1f} s = "
        f"{pred['tk_predict_rows_per_s']:,.0f} rows/s (process start included), "
        f"peak RSS {pred['tk_predict_peak_rss_mib']:.0f} MiB (target ≥ 200,000 rows/s).",
    ]
    (args.out / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
