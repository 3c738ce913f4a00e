"""bench.scale's measured runs: `tk train` / `tk predict` in a subprocess whose process tree's peak
RSS (VmHWM) is polled from /proc, and the Predictor's rows/s in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import ROOT, vm_hwm_kib
from bench.scale.data import CONFIG
from serving.process import descendants


def run_measured(cmd: list[str]) -> tuple[float, dict[int, int], str]:
    """(wall seconds, {pid: peak RSS KiB}, output) of a command and its children."""
    peaks: dict[int, int] = {}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for p in {proc.pid, *descendants(proc.pid)}:
                hwm = vm_hwm_kib(p)
                if hwm is not None:
                    peaks[p] = max(peaks.get(p, 0), hwm)
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
    wall, peaks, _ = run_measured(
        [
            sys.executable,
            "-m",
            "toolkit.cli.main",
            "train",
            str(cfg_path),
            "-d",
            str(data / "*.parquet"),
            "-o",
            str(out),
            "--nproc",
            str(nproc),
            "-q",
        ]
    )
    stats = json.loads((out / "training_stats.json").read_text())
    secs = [e["seconds"] for e in stats["epochs"]]
    per_epoch = [b - a for a, b in zip([0.0] + secs, secs)]
    return {
        "rows": stats["data"]["rows"],
        "nproc": nproc,
        "epochs": len(secs),
        "seconds_per_epoch": min(per_epoch),
        "wall_seconds": wall,
        "peak_rss_mib_max_process": max(peaks.values()) / 1024,
        "peak_rss_mib_sum": sum(peaks.values()) / 1024,
        "test_roc_auc": stats["metrics"].get("test", {}).get("delayed", {}).get("roc_auc"),
        "model": str(out),
    }


def predict_speed(model_dir: str, data: Path, work: Path) -> dict:
    import pyarrow.parquet as pq

    from toolkit.runtime.predictor import Predictor

    df = pq.ParquetFile(next(data.glob("*.parquet"))).read_row_group(0).to_pandas()
    df = df.iloc[:65_536]
    predictor = Predictor(Path(model_dir))
    predictor.run(df.head(1000))
    t = time.perf_counter()
    reps = 5
    for _ in range(reps):
        predictor.run(df)
    in_memory = reps * len(df) / (time.perf_counter() - t)
    wall, peaks, _ = run_measured(
        [
            sys.executable,
            "-m",
            "toolkit.cli.main",
            "predict",
            model_dir,
            "-d",
            str(data / "*.parquet"),
            "-o",
            str(work / "preds.parquet"),
        ]
    )
    rows = pq.ParquetFile(work / "preds.parquet").metadata.num_rows
    return {
        "predictor_rows_per_s": in_memory,
        "tk_predict_rows": rows,
        "tk_predict_wall_s": wall,
        "tk_predict_rows_per_s": rows / wall,
        "tk_predict_peak_rss_mib": max(peaks.values()) / 1024,
    }
