"""`python -m bench.latency`: time each model's routes and write latency.json and latency.md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import bench.latency
from bench.common import RESULTS, ROOT, chosen, command_line
from bench.latency.models import MODELS, get_model
from bench.latency.report import TARGETS, machine, markdown
from bench.latency.routes import build_routes
from bench.latency.timing import measure, profile


def bench_model(name: str, args) -> dict:
    """Train (or reuse) one model, build and check its routes, time them; its entry of the results."""
    import pandas as pd

    from toolkit.features import columns as prepare

    entry = MODELS[name]
    trained, model_path = get_model(name, entry, args.retrain)
    df = pd.read_csv(ROOT / entry.data) if entry.data.endswith(".csv") else pd.read_parquet(ROOT / entry.data)
    test = df[df[entry.split_column].isin(entry.test)]
    if len(test) < max(entry.sizes):
        raise SystemExit(f"{name}: {len(test)} test rows, fewer than {max(entry.sizes)}")
    columns = prepare.input_columns(trained.inputs, test, entry.data)
    notes: dict[str, str] = {}
    routes = build_routes(name, entry, trained, model_path, df, columns, args.runs, notes)
    print(f"[{name}] timing {', '.join(routes)}: {args.runs} runs × sizes {entry.sizes}", flush=True)
    timings = measure(routes, entry.sizes, args.runs, args.rounds)
    result = {
        "config": entry.config,
        "data": entry.data,
        "test_rows": int(len(test)),
        "onnx_bytes": model_path.stat().st_size,
        "timings": timings,
        "notes": notes,
    }
    full1 = timings["onnx_full"][1]["median_us"]
    target = TARGETS.get(name, {})
    if args.profile or full1 > target.get("full_1_us", float("inf")):
        stages = {"post": {o.config.name for o in trained.outputs}}
        result["profile"] = [profile(model_path, columns, n, args.profile_runs, stages) for n in entry.sizes]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description=bench.latency.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--models", default="churn", help=f"comma-separated, of: {', '.join(MODELS)}")
    ap.add_argument("--runs", type=int, default=1000, help="timed calls per route and size (≥ 1000 to publish)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds the runs are spread over")
    ap.add_argument("--profile", action="store_true", help="profile the full pipeline even when on target")
    ap.add_argument("--profile-runs", type=int, default=2000)
    ap.add_argument("--retrain", action="store_true", help="train again instead of reusing runs/bench/<model>")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    names = chosen(ap, "--models", args.models, MODELS)
    res = {
        "command": command_line("bench.latency", argv),
        "runs": args.runs,
        "rounds": args.rounds,
        "machine": machine(),
        "models": {},
    }
    for name in names:
        res["models"][name] = bench_model(name, args)
    res["machine"]["loadavg_end"] = list(os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (args.out / "latency.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
