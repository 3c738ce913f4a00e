"""bench.train's measured runs: each system trained in its own process, timed from outside.

run_one starts one run (the tk CLI, or `python -m bench.train --one DATASET:SYSTEM` for a baseline,
which calls run_baseline in the child) and returns wall seconds, peak RSS (the child's own
ru_maxrss from os.wait4), CPU seconds and test ROC AUC; median summarises the runs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, THREAD_VARS
from bench.train.datasets import DATASETS, columns_by_type, data_path

# --------------------------------------------------------------------------- child: one baseline


def run_baseline(dataset: str, system: str) -> dict[str, Any]:
    """Load, fit on the fit rows, score ROC AUC on the test rows. Runs inside the measured child."""
    t0 = time.perf_counter()
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    entry = DATASETS[dataset]
    columns = columns_by_type(ROOT / entry["config"])
    path = data_path(entry)
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    split = entry["split"]
    fit = df[df[split["column"]].isin(split["fit"])]
    test = df[df[split["column"]].isin(split["test"])]
    inputs = [c for cols in columns.values() for c in cols]
    y_fit = (fit[entry["target"]] == entry["positive"]).to_numpy()
    y_test = (test[entry["target"]] == entry["positive"]).to_numpy()

    model = entry["baselines"][system](columns)
    t1 = time.perf_counter()
    model.fit(fit[inputs], y_fit)
    t2 = time.perf_counter()
    proba = model.predict_proba(test[inputs])[:, list(model.classes_).index(True)]
    return {
        "roc_auc": float(roc_auc_score(y_test, proba)),
        "fit_seconds": t2 - t1,
        "in_process_seconds": time.perf_counter() - t0,
        "n_fit": int(len(fit)),
        "n_test": int(len(test)),
    }


# --------------------------------------------------------------------------- parent: measure


def child_env(threads: int | None) -> dict[str, str]:
    """The children's environment; with `threads`, cap OpenMP/BLAS pools (torch and sklearn follow OMP)."""
    env = dict(os.environ)
    if threads:
        for var in THREAD_VARS:
            env[var] = str(threads)
    return env


def measure(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run cmd as its own process; wall seconds, peak RSS (KiB) from wait4, exit code, output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall,
            "rss_kib": usage.ru_maxrss,  # Linux: KiB
            "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime,
            "returncode": proc.returncode,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def run_one(dataset: str, system: str, tk_bin: str, timeout: float, threads: int | None = None) -> dict[str, Any]:
    entry = DATASETS[dataset]
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{dataset}-{system}-"))
    try:
        if system == "tk":
            cmd = [
                tk_bin,
                "train",
                str(ROOT / entry["config"]),
                "--dataset",
                str(data_path(entry)),
                "--output",
                str(tmp / "model"),
                "-q",
            ]
        else:
            cmd = [sys.executable, "-m", "bench.train", "--one", f"{dataset}:{system}"]  # cwd: ROOT
        m = measure(cmd, timeout, child_env(threads))
        run: dict[str, Any] = {
            "wall_s": round(m["wall_s"], 3),
            "rss_mb": round(m["rss_kib"] / 1024, 1),
            "rss_kib": m["rss_kib"],
            "cpu_s": round(m["user_s"] + m["sys_s"], 2),
            "returncode": m["returncode"],
        }
        if m["returncode"] != 0:
            run["error"] = (m["stderr"] or m["stdout"])[-2000:]
            return run
        if system == "tk":
            stats = json.loads((tmp / "model" / "training_stats.json").read_text())
            run["roc_auc"] = stats["metrics"]["test"][entry["target"]]["roc_auc"]
            for key in ("best_epoch", "train_seconds", "total_seconds"):
                if key in stats:
                    run[key] = stats[key]
            if "epochs" in stats:
                run["epochs"] = len(stats["epochs"]) if isinstance(stats["epochs"], list) else stats["epochs"]
        else:
            run.update(json.loads(m["stdout"].strip().splitlines()[-1]))
        return run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    """The median of `key` over the runs that did not fail; None when none has it."""
    vals = [r[key] for r in runs if r.get(key) is not None and "error" not in r]
    return statistics.median(vals) if vals else None
