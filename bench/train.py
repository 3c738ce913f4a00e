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
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.train_datasets import DATASETS, REFERENCES, SYSTEM_LABELS, TARGETS, _data_path  # noqa: E402
from bench.train_report import machine_info, print_table, write_markdown  # noqa: E402
from bench.train_runs import _cpu_ticks, _median, run_baseline, run_one  # noqa: E402

# machine_info is imported from here by bench/peers/report.py.
__all__ = ["DATASETS", "machine_info", "main"]


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
