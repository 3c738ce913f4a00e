"""Training benchmark: `tk train` against scikit-learn baselines on the same split.

Run by hand from the repository root (it is not a test):

    .venv/bin/python bench/train.py --datasets churn --repeats 3 --out bench/results

Every measured run is its own fresh process, so wall time and peak RSS are
whole-process figures (interpreter start and imports included) and comparable
between systems:

- tk:        the real CLI, `.venv/bin/tk train CONFIG --dataset DATA --output TMP -q`;
             test ROC AUC read back from TMP/training_stats.json.
- baselines: `python bench/train.py --one DATASET:SYSTEM`, which loads the data,
             fits on the train + validation rows, scores the test rows and prints
             one JSON line.

Wall time is measured around the child by this (parent) process; peak RSS is the
child's own `ru_maxrss` from `os.wait4` (the same source as `/usr/bin/time %M`),
so it is per process and never mixed up with other children. Runs of the
different systems are interleaved (tk, logreg, hgb, tk, logreg, hgb, ...) so
that a noisy neighbour on a shared machine hits all of them alike; medians are
reported.

To add a dataset, add one entry to DATASETS: the tk config, a data path (or a
function that writes the data file and returns its path), the target and its
positive class, how the fixed split is read, and the baselines, each a function
that takes the feature columns grouped by tk type and returns an unfitted
scikit-learn estimator.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Targets for tk on churn (issue) and the Ludwig reference measured earlier on
# this kind of machine (2 cores); neither is re-measured here.
TARGETS = {"churn": {"roc_auc": 0.845, "wall_s": 5.0, "rss_mb": 550.0},
           "reviews": {"roc_auc": 0.88, "wall_s": 30.0, "rss_mb": 600.0}}
REFERENCES = {"churn": [{"system": "Ludwig 0.11 (reference)", "roc_auc": 0.834, "wall_s": 22.8, "rss_mb": 633.0}],
              # issue 3, measured on the same split: mean-pooled embeddings 0.816–0.822 in 37–49 s and
              # 1.55–1.64 GB (two runs: the middle is given); parallel CNN one run
              "reviews": [{"system": "Ludwig 0.11 mean-pooled embeddings (reference, 2 runs)", "roc_auc": 0.819,
                           "wall_s": 43.0, "rss_mb": 1595.0},
                          {"system": "Ludwig 0.11 parallel CNN (reference)", "roc_auc": 0.827,
                           "wall_s": 225.0, "rss_mb": 1100.0}]}


# --------------------------------------------------------------------------- baselines
# Each builder takes {tk type: [column, ...]} from the tk config and returns an
# unfitted estimator that accepts the raw DataFrame of those columns.
# Imports live inside the builders so they are paid, and measured, in the child.


def _as_str(X):
    """Categories as strings; a missing value becomes its own category ('nan')."""
    return X.astype(str)


def logreg(columns: dict[str, list[str]]):
    """One-hot categories/binaries, median-impute + standard-scale numbers, LogisticRegression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), columns.get("number", [])),
        ("cat", make_pipeline(FunctionTransformer(_as_str, feature_names_out="one-to-one"), OneHotEncoder(handle_unknown="ignore")),
         columns.get("category", []) + columns.get("binary", [])),
    ])
    return make_pipeline(pre, LogisticRegression(max_iter=1000))


def hgb(columns: dict[str, list[str]]):
    """HistGradientBoostingClassifier with native categorical support (ordinal codes, unknown → NaN)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    cats = columns.get("category", []) + columns.get("binary", [])
    pre = ColumnTransformer(
        [("cat", make_pipeline(FunctionTransformer(_as_str, feature_names_out="one-to-one"),
                               OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)), cats),
         ("num", "passthrough", columns.get("number", []))],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    model = HistGradientBoostingClassifier(categorical_features=cats, random_state=0)
    return make_pipeline(pre, model)


def _text(X):
    """One text column as a 1-D array of strings; missing → ""."""
    return X.iloc[:, 0].fillna("").astype(str).to_numpy()


def tfidf_logreg(columns: dict[str, list[str]]):
    """The classic text baseline on the (one) text column: TF-IDF of words and bigrams, LogisticRegression.

    sublinear tf, min_df 2, C 4: the setting behind the issue's 0.879 (scikit-learn's
    default token pattern: words of 2+ characters, no punctuation).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    if len(columns.get("text", [])) != 1 or len(columns) != 1:
        raise ValueError(f"tfidf_logreg takes exactly one text column, got {columns}")
    return make_pipeline(FunctionTransformer(_text),
                         TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                         LogisticRegression(C=4.0, max_iter=1000))


# --------------------------------------------------------------------------- registry

DATASETS: dict[str, dict[str, Any]] = {
    "churn": {
        "config": "examples/churn/config.yaml",
        "data": "examples/churn/churn.csv",   # path, or a callable () -> path that writes the file
        "target": "churn",
        "positive": "Yes",
        # rows with split in `fit` train the baselines (tk itself trains on `train` and
        # early-stops on `validation`); all systems are scored on `test`.
        "split": {"column": "split", "fit": ["train", "validation"], "test": ["test"]},
        "baselines": {"logreg": logreg, "hgb": hgb},
    },
    "reviews": {
        "config": "examples/reviews/config.yaml",
        "data": "examples/reviews/reviews.csv",
        "target": "score",
        "positive": "great",
        # modeldata's testing_data is `test`; training_data is split 90 / 10 into train / validation
        "split": {"column": "split", "fit": ["train", "validation"], "test": ["test"]},
        "baselines": {"tfidf": tfidf_logreg},
    },
}

SYSTEM_LABELS = {"tk": "tk", "logreg": "sklearn LogisticRegression", "hgb": "sklearn HistGradientBoosting",
                 "tfidf": "sklearn TF-IDF (1–2-grams) + LogisticRegression"}


def _data_path(entry: dict[str, Any]) -> Path:
    data = entry["data"]
    path = Path(data() if callable(data) else data)
    return path if path.is_absolute() else ROOT / path


def _columns_by_type(config_path: Path) -> dict[str, list[str]]:
    """The input columns of a tk config, grouped by their tk type."""
    import yaml

    cfg = yaml.safe_load(config_path.read_text())
    out: dict[str, list[str]] = {}
    for feat in cfg["input_features"]:
        out.setdefault(feat["type"], []).append(feat["name"])
    return out


# --------------------------------------------------------------------------- child: one baseline


def run_baseline(dataset: str, system: str) -> dict[str, Any]:
    """Load, fit on the fit rows, score ROC AUC on the test rows. Runs inside the measured child."""
    t0 = time.perf_counter()
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    entry = DATASETS[dataset]
    columns = _columns_by_type(ROOT / entry["config"])
    path = _data_path(entry)
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
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
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
            "rss_kib": usage.ru_maxrss,   # Linux: KiB
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
            cmd = [tk_bin, "train", str(ROOT / entry["config"]), "--dataset", str(_data_path(entry)),
                   "--output", str(tmp / "model"), "-q"]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", f"{dataset}:{system}"]
        m = measure(cmd, timeout, child_env(threads))
        run: dict[str, Any] = {"wall_s": round(m["wall_s"], 3), "rss_mb": round(m["rss_kib"] / 1024, 1),
                               "rss_kib": m["rss_kib"], "cpu_s": round(m["user_s"] + m["sys_s"], 2),
                               "returncode": m["returncode"]}
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


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None and "error" not in r]
    return statistics.median(vals) if vals else None


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat; None where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def machine_info() -> dict[str, Any]:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "toolkit", "exporters"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = None, None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("torch", "scikit-learn", "onnxruntime", "onnx", "pandas", "numpy",
                                              "tk-toolkit")},
        "git_commit": commit,
        "toolkit_dirty": dirty,
        "loadavg_start": list(os.getloadavg()),
        "threads_env": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    }


# --------------------------------------------------------------------------- report


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def print_table(results: dict[str, Any]) -> None:
    header = ["dataset", "system", "test ROC AUC", "wall s", "peak RSS MB", "runs"]
    rows = []
    for ds, res in results["datasets"].items():
        for sysname, s in res["systems"].items():
            ok = sum("error" not in r for r in s["runs"])
            rows.append([ds, SYSTEM_LABELS.get(sysname, sysname), _fmt(s["median"]["roc_auc"], ".4f"),
                         _fmt(s["median"]["wall_s"], ".2f"), _fmt(s["median"]["rss_mb"], ".0f"),
                         f"{ok}/{len(s['runs'])}"])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="bench/train.py — medians")
        for h in header:
            table.add_column(h, justify="left" if h in ("dataset", "system") else "right")
        for r in rows:
            table.add_row(*r)
        console = Console()
        if not console.is_terminal:   # piped: rich would assume 80 columns and squeeze the table
            console = Console(width=120)
        console.print(table)
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def write_markdown(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    v = m["versions"]
    lines = [
        "# Training benchmark",
        "",
        f"`{results['command']}` — {m['date']}, git {m['git_commit']}"
        + (" (toolkit/ had uncommitted changes)" if m.get("toolkit_dirty") else ""),
        "",
        f"Machine: {m['cpu_count']} CPU ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"torch {v['torch']}, scikit-learn {v['scikit-learn']}, onnxruntime {v['onnxruntime']}. "
        f"Load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}"
        + (f"; all CPUs {m['cpu_busy_pct']:.0f} % busy during the benchmark, of which about "
           f"{m['other_cpu_s']:.0f} CPU-s not ours (the benchmark's own runs: {m['benchmark_cpu_s']:.0f} CPU-s)"
           if "cpu_busy_pct" in m else "")
        + ". Threads: " + (f"OMP/MKL/OPENBLAS_NUM_THREADS={results['threads']}" if results.get("threads")
                           else "library defaults (one per core)") + ".",
        "",
        f"Medians of {results['repeats']} run(s) per system, interleaved. Each run is a fresh process: wall time "
        "and peak RSS (`ru_maxrss` of that process, MB = MiB) include interpreter start-up and imports. "
        "tk is the real CLI (`tk train CONFIG --dataset DATA --output TMP -q`); it trains on `train` and "
        "early-stops on `validation`. The scikit-learn baselines fit on `train` + `validation`. "
        "All are scored on the `test` rows.",
    ]
    for ds, res in results["datasets"].items():
        lines += ["", f"## {ds}", "",
                  f"Config `{res['config']}`, data `{res['data']}`, target `{res['target']}` "
                  f"(positive `{res['positive']}`).", "",
                  "| system | test ROC AUC | wall s | peak RSS MB |", "|---|---:|---:|---:|"]
        for sysname, s in res["systems"].items():
            med = s["median"]
            lines.append(f"| {SYSTEM_LABELS.get(sysname, sysname)} | {_fmt(med['roc_auc'], '.4f')} | "
                         f"{_fmt(med['wall_s'], '.2f')} | {_fmt(med['rss_mb'], '.0f')} |")
        for ref in REFERENCES.get(ds, []):
            lines.append(f"| {ref['system']} | {ref['roc_auc']:.3f} | {ref['wall_s']:.1f} | {ref['rss_mb']:.0f} |")
        target = TARGETS.get(ds)
        if target:
            lines.append(f"| **target for tk** | ≥ {target['roc_auc']:.3f} | ≤ {target['wall_s']:.0f} | "
                         f"≤ {target['rss_mb']:.0f} |")
            tk = res["systems"].get("tk", {}).get("median")
            if tk and tk["roc_auc"] is not None:
                checks = [("ROC AUC", tk["roc_auc"] >= target["roc_auc"]), ("wall", tk["wall_s"] <= target["wall_s"]),
                          ("RSS", tk["rss_mb"] <= target["rss_mb"])]
                lines += ["", "tk against its targets: " + ", ".join(f"{n} {'met' if ok else 'NOT met'}"
                                                                     for n, ok in checks) + "."]
        lines += ["", "Runs (in order):", ""]
        for sysname, s in res["systems"].items():
            cells = []
            for r in s["runs"]:
                if "error" in r:
                    cells.append(f"error (rc {r['returncode']})")
                else:
                    cells.append(f"{r['roc_auc']:.4f} / {r['wall_s']:.2f} s / {r['rss_mb']:.0f} MB")
            lines.append(f"- {SYSTEM_LABELS.get(sysname, sysname)}: " + "; ".join(cells))
    path.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark `tk train` against scikit-learn baselines (test ROC AUC, wall time, peak RSS). "
                    "Run from anywhere; paths are relative to the repository root.")
    parser.add_argument("--datasets", default="churn",
                        help=f"comma-separated datasets to run; known: {', '.join(DATASETS)} (default: churn)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per system; medians are reported (default: 3)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"),
                        help="folder for train.json and train.md (default: bench/results)")
    parser.add_argument("--systems", default=None,
                        help="comma-separated subset of systems, e.g. tk,hgb (default: tk and all baselines)")
    parser.add_argument("--tk", default=None, help="tk executable (default: the `tk` next to this Python)")
    parser.add_argument("--threads", type=int, default=None,
                        help="set OMP/MKL/OPENBLAS_NUM_THREADS for every run (default: unset, the libraries' "
                             "own defaults, i.e. one thread per core)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed (default: 900)")
    parser.add_argument("--one", metavar="DATASET:SYSTEM", help=argparse.SUPPRESS)  # internal: the measured child
    args = parser.parse_args(argv)

    if args.one:
        dataset, system = args.one.split(":", 1)
        print(json.dumps(run_baseline(dataset, system)))
        return 0

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; known: {list(DATASETS)}")
    if args.repeats < 1:
        parser.error(f"{args.repeats=} must be >= 1")
    tk_bin = args.tk or str(Path(sys.executable).parent / "tk")
    if not args.tk and not Path(tk_bin).exists():
        tk_bin = shutil.which("tk") or tk_bin
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "command": " ".join(["python", "bench/train.py", *(sys.argv[1:] if argv is None else argv)]),
        "repeats": args.repeats,
        "threads": args.threads,
        "machine": machine_info(),
        "datasets": {},
    }
    ticks0 = _cpu_ticks()
    for ds in names:
        entry = DATASETS[ds]
        systems = ["tk", *entry["baselines"]]
        if args.systems:
            wanted = [s.strip() for s in args.systems.split(",")]
            systems = [s for s in systems if s in wanted]
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
        for i in range(args.repeats):
            for system in systems:  # interleaved: tk, logreg, hgb, tk, logreg, hgb, ...
                r = run_one(ds, system, tk_bin, args.timeout, args.threads)
                runs[system].append(r)
                status = (f"error rc={r['returncode']}: {r['error'].strip().splitlines()[-1] if r['error'].strip() else ''}"
                          if "error" in r else f"auc {r['roc_auc']:.4f}  {r['wall_s']:.2f} s  {r['rss_mb']:.0f} MB")
                print(f"[{ds} {i + 1}/{args.repeats}] {system:<7} {status}", file=sys.stderr, flush=True)
        results["datasets"][ds] = {
            "config": entry["config"],
            "data": str(_data_path(entry).relative_to(ROOT)) if _data_path(entry).is_relative_to(ROOT)
            else str(_data_path(entry)),
            "target": entry["target"],
            "positive": entry["positive"],
            "split": entry["split"],
            "targets": TARGETS.get(ds),
            "references": REFERENCES.get(ds, []),
            "systems": {
                s: {"label": SYSTEM_LABELS.get(s, s), "runs": rs,
                    "median": {k: _median(rs, k) for k in ("roc_auc", "wall_s", "rss_mb")}}
                for s, rs in runs.items()
            },
        }
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    ticks1 = _cpu_ticks()
    if ticks0 and ticks1 and ticks1[1] > ticks0[1]:
        # share of all CPUs busy while the benchmark ran (ours + anything else on the machine)
        results["machine"]["cpu_busy_pct"] = round(100 * (ticks1[0] - ticks0[0]) / (ticks1[1] - ticks0[1]), 1)
    cpu_ours = sum(r.get("cpu_s", 0) for res in results["datasets"].values()
                   for s in res["systems"].values() for r in s["runs"])
    results["machine"]["benchmark_cpu_s"] = round(cpu_ours, 1)
    if ticks0 and ticks1:
        busy_s = (ticks1[0] - ticks0[0]) / os.sysconf("SC_CLK_TCK")
        results["machine"]["other_cpu_s"] = round(max(busy_s - cpu_ours, 0.0), 1)   # other tenants, roughly

    (out / "train.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out / "train.md")
    print_table(results)
    print(f"wrote {out / 'train.json'} and {out / 'train.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
