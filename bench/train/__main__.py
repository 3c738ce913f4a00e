"""`python -m bench.train`: run the training benchmark, write train.json and train.md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT, chosen, command_line, cpu_ticks, machine, tk_executable
from bench.train.datasets import DATASETS, REFERENCES, SYSTEM_LABELS, TARGETS, data_path
from bench.train.report import print_table, write_markdown
from bench.train.runs import median, run_baseline, run_one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.train",
        description="Benchmark `tk train` against scikit-learn baselines (test ROC AUC, wall time, peak RSS). "
        "Run from anywhere; paths are relative to the repository root.",
    )
    parser.add_argument(
        "--datasets",
        default="churn",
        help=f"comma-separated datasets to run; known: {', '.join(DATASETS)} (default: churn)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per system; medians are reported (default: 3)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench/results"),
        help="folder for train.json and train.md (default: bench/results)",
    )
    parser.add_argument(
        "--systems", default=None, help="comma-separated subset of systems, e.g. tk,hgb (default: tk and all baselines)"
    )
    parser.add_argument("--tk", default=None, help="tk executable (default: the `tk` next to this Python)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="set OMP/MKL/OPENBLAS_NUM_THREADS for every run (default: unset, the libraries' "
        "own defaults, i.e. one thread per core)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed (default: 900)")
    parser.add_argument("--one", metavar="DATASET:SYSTEM", help=argparse.SUPPRESS)  # internal: the measured child
    args = parser.parse_args(argv)

    if args.one:
        dataset, system = args.one.split(":", 1)
        print(json.dumps(run_baseline(dataset, system)))
        return 0

    names = chosen(parser, "--datasets", args.datasets, DATASETS)
    if args.repeats < 1:
        parser.error(f"{args.repeats=} must be >= 1")
    tk_bin = args.tk or tk_executable()
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)

    results: dict[str, Any] = {
        "command": command_line("bench.train", argv),
        "repeats": args.repeats,
        "threads": args.threads,
        "machine": machine(),
        "datasets": {},
    }
    ticks0 = cpu_ticks()
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
                status = (
                    f"error rc={r['returncode']}: {r['error'].strip().splitlines()[-1] if r['error'].strip() else ''}"
                    if "error" in r
                    else f"auc {r['roc_auc']:.4f}  {r['wall_s']:.2f} s  {r['rss_mb']:.0f} MB"
                )
                print(f"[{ds} {i + 1}/{args.repeats}] {system:<7} {status}", file=sys.stderr, flush=True)
        results["datasets"][ds] = {
            "config": entry["config"],
            "data": str(data_path(entry).relative_to(ROOT))
            if data_path(entry).is_relative_to(ROOT)
            else str(data_path(entry)),
            "target": entry["target"],
            "positive": entry["positive"],
            "split": entry["split"],
            "targets": TARGETS.get(ds),
            "references": REFERENCES.get(ds, []),
            "systems": {
                s: {
                    "label": SYSTEM_LABELS.get(s, s),
                    "runs": rs,
                    "median": {k: median(rs, k) for k in ("roc_auc", "wall_s", "rss_mb")},
                }
                for s, rs in runs.items()
            },
        }
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    ticks1 = cpu_ticks()
    if ticks0 and ticks1 and ticks1[1] > ticks0[1]:
        # share of all CPUs busy while the benchmark ran (ours + anything else on the machine)
        results["machine"]["cpu_busy_pct"] = round(100 * (ticks1[0] - ticks0[0]) / (ticks1[1] - ticks0[1]), 1)
    cpu_ours = sum(
        r.get("cpu_s", 0) for res in results["datasets"].values() for s in res["systems"].values() for r in s["runs"]
    )
    results["machine"]["benchmark_cpu_s"] = round(cpu_ours, 1)
    if ticks0 and ticks1:
        busy_s = (ticks1[0] - ticks0[0]) / os.sysconf("SC_CLK_TCK")
        results["machine"]["other_cpu_s"] = round(max(busy_s - cpu_ours, 0.0), 1)  # other tenants, roughly

    (out / "train.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out / "train.md")
    print_table(results)
    print(f"wrote {out / 'train.json'} and {out / 'train.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
