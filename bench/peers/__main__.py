"""`python -m bench.peers`: tk side by side with Ludwig and scikit-learn (see __init__.py)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench.peers
from bench.common import ROOT, THREAD_VARS, chosen, command_line


def _guard(label: str, fn: Callable[[], dict], log) -> dict:
    """fn()'s row, or a row with the exception as its error: a failed peer is reported, never dropped."""
    t0 = time.perf_counter()
    try:
        row = fn()
    except Exception as e:  # noqa: BLE001 - any failure of a peer becomes its row's error
        row = {
            "system": label,
            "error": f"{type(e).__name__}: {str(e).strip().splitlines()[0][:400] if str(e).strip() else ''}",
        }
    row["stage_s"] = round(time.perf_counter() - t0, 1)
    if "error" in row:
        done = f"FAILED {row['error']}"
    elif "c32" in row:
        done = " / ".join(
            f"c={row[c]['concurrency']} {row[c]['req_per_s']} req/s p99 {row[c]['p99_ms']} ms" for c in ("c1", "c32")
        )
    else:
        done = f"{row.get('metrics')} train {row.get('train_wall_s')} s"
    log(f"  {row.get('system', label)}: {done}")
    return row


def run_dataset(name: str, args, log) -> dict[str, Any]:
    from bench.peers import ludwig_system, serving, sklearn_system, tk_system
    from bench.peers.datasets import prepare
    from bench.peers.rows import json_row

    work = args.work / name
    prep = prepare(name, args.work / "data", args.quick)
    log(f"[{name}] {prep.rows} rows, inputs {prep.columns}")
    runs = args.latency_runs
    systems = []
    for config in prep.configs:
        systems.append(
            _guard(f"tk ({config} config)", lambda c=config: tk_system.run(prep, c, work, args.timeout_tk, runs), log)
        )
    systems.append(
        _guard(
            "Ludwig",
            lambda: ludwig_system.run(
                prep,
                work,
                args.timeout_ludwig,
                runs,
                quick=args.quick,
                threads=args.threads,
                setup_log=Path(args.ludwig_setup_log),
            ),
            log,
        )
    )
    for system in sklearn_system.SYSTEMS:
        if system == "hgb" and prep.kind == "text":
            systems.append(
                {
                    "system": sklearn_system.SYSTEMS[system],
                    "family": "sklearn",
                    "config": system,
                    "skipped": "no text input: TF-IDF + LogisticRegression is the text baseline",
                }
            )
            continue
        systems.append(
            _guard(
                sklearn_system.SYSTEMS[system],
                lambda s=system: sklearn_system.run(prep, s, work, args.timeout_sklearn, runs),
                log,
            )
        )

    # served: tk (example config, else default), Ludwig, the plain BentoML service around the best converted sklearn model
    row = json_row(prep.frame("test")[list(prep.columns)].iloc[0])
    d = args.duration
    tk_rows = [s for s in systems if s.get("family") == "tk" and "error" not in s]
    tk_served = next((s for s in tk_rows if s["config"] == "example"), tk_rows[0] if tk_rows else None)
    if tk_served:
        tk_served["serving"] = _guard(
            "tk serve", lambda: {"system": "tk serve", **serving.serve_tk(Path(tk_served["model_dir"]), row, d)}, log
        )
    lud = next(s for s in systems if s.get("family") == "ludwig")
    if "error" not in lud:
        lud["serving"] = _guard(
            "ludwig serve",
            lambda: {"system": "ludwig serve", **serving.serve_ludwig(ludwig_system.PYTHON, lud["model_dir"], row, d)},
            log,
        )
    converted = [s for s in systems if s.get("family") == "sklearn" and s.get("onnx_files")]
    if converted:
        best = max(converted, key=lambda s: s["metrics"][prep.primary][next(iter(s["metrics"][prep.primary]))])
        best["serving"] = _guard(
            "plain BentoML",
            lambda: {
                "system": "plain BentoML + skl2onnx",
                **serving.serve_plain(best["onnx_files"], prep.columns, row, d),
            },
            log,
        )
    return {
        "rows": prep.rows,
        "columns": prep.columns,
        "primary": prep.primary,
        "kind": prep.kind,
        "outputs": [vars(o) for o in prep.outputs],
        "configs": {k: str(v.relative_to(ROOT)) if v.is_relative_to(ROOT) else str(v) for k, v in prep.configs.items()},
        "systems": systems,
        "load_avg_after": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.peers",
        description=bench.peers.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--datasets", default="churn,reviews,credit,diamonds")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "peers", help="models, data, logs (not committed)")
    ap.add_argument("--quick", action="store_true", help="≤ 4,000 rows, ≤ 3 epochs, short runs: for trying things")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP/MKL/OpenBLAS/torch threads for every system (the machine is shared; 0 = library default)",
    )
    ap.add_argument("--timeout-tk", type=float, default=600)
    ap.add_argument("--timeout-ludwig", type=float, default=900)
    ap.add_argument("--timeout-sklearn", type=float, default=300)
    ap.add_argument("--duration", type=float, default=None, help="seconds per served load run (default 5; quick 1.5)")
    ap.add_argument(
        "--latency-runs", type=int, default=None, help="timed predict calls per cell (default 200; quick 30)"
    )
    ap.add_argument("--ludwig-setup-log", default="/tmp/ludwig_setup.log")
    ap.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="also write this README section (e.g. docs/peers.md) with the charts beside it",
    )
    ap.add_argument(
        "--merge",
        metavar="WHY",
        default=None,
        help="re-run only --datasets and merge them into <out>/peers.json (its machine, command and "
        "other datasets kept); WHY (e.g. 'tk failed: toolkit/ edited mid-run') is printed beside them",
    )
    ap.add_argument("--report-only", action="store_true", help="rewrite the reports from <out>/peers.json; run nothing")
    args = ap.parse_args(argv)
    if args.report_only:
        import json

        from bench.peers import report
        from bench.peers.readme_section import readme

        res = json.loads((args.out / "peers.json").read_text())
        report.write(res, args.out)
        if args.readme:
            readme(res, args.readme, args.out)
        return 0
    args.duration = args.duration or (1.5 if args.quick else 5.0)
    args.latency_runs = args.latency_runs or (30 if args.quick else 200)
    if args.threads:
        for var in THREAD_VARS:
            os.environ[var] = str(args.threads)
    from bench.peers import report
    from bench.peers.datasets import DATASETS
    from bench.peers.readme_section import readme

    names = chosen(ap, "--datasets", args.datasets, DATASETS)
    command = command_line("bench.peers", argv)
    if args.merge:
        import json
        from datetime import UTC, datetime

        res = json.loads((args.out / "peers.json").read_text())
        when = datetime.now(UTC).isoformat(timespec="seconds")
        rerun = {"date": when, "why": args.merge, "command": command, "loadavg_start": list(os.getloadavg())}
    else:
        res = {
            "command": command,
            "quick": args.quick,
            "threads": args.threads,
            "machine": report.machine(),
            "datasets": {},
        }
    t0 = time.perf_counter()
    for name in names:
        print(f"[{name}] …", flush=True)
        try:
            res["datasets"][name] = run_dataset(name, args, lambda m: print(m, flush=True))
        except Exception as e:  # noqa: BLE001 - a dataset that cannot even be prepared is reported
            res["datasets"][name] = {"error": f"{type(e).__name__}: {e}", "systems": []}
        if args.merge:
            res["datasets"][name]["rerun"] = {**rerun, "wall_s": round(time.perf_counter() - t0, 1)}
        else:
            res["wall_s"] = round(time.perf_counter() - t0, 1)
            res["machine"]["loadavg_end"] = list(os.getloadavg())
        report.write(res, args.out)
    if args.readme:
        readme(res, args.readme, args.out)
    print(f"done in {time.perf_counter() - t0:.0f} s → {args.out}/peers.md", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
