"""`python -m bench.infer_speed`: time the routes side by side, write infer_speed.json and .md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import bench.infer_speed
from bench.common import command_line, interleaved, summary_us
from bench.infer_speed.report import markdown
from bench.infer_speed.routes import SIZES, build_routes
from bench.latency.report import machine

RUNS = {1: 1_000, 1_000: 100, 65_536: 6}  # timed calls per route and size (all rounds together)


def measure(routes: dict, rounds: int) -> dict:
    """{route: {rows: {median_us, p10_us, p90_us, runs, rows_per_s}}}; routes interleaved per round."""
    samples = interleaved(routes, runs=RUNS.__getitem__, rounds=rounds, warmup=lambda n: min(20, RUNS[n]))
    out = {}
    for r, by_n in samples.items():
        out[r] = {}
        for n, ts in by_n.items():
            s = summary_us(ts)
            out[r][n] = {**s, "rows_per_s": n / s["median_us"] * 1e6}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.infer_speed",
        description=bench.infer_speed.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--before", default="git:HEAD", help="older runtime: git:REV or a path to a runtime.py")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    notes: dict[str, str] = {}
    info = machine()
    routes = build_routes(args.before, notes)
    print(f"timing {', '.join(routes)} at {SIZES} rows", flush=True)
    timings = measure(routes, args.rounds)
    info["loadavg_end"] = list(os.getloadavg())
    res = {
        "command": command_line("bench.infer_speed", argv),
        "machine": info,
        "before": args.before,
        "rounds": args.rounds,
        "timings": timings,
        "notes": notes,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "infer_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "infer_speed.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
