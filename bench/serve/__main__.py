"""`python -m bench.serve`: serve the example models under load, write serve.json and serve.md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import bench.serve
from bench import loadgen
from bench.common import command_line, machine
from bench.serve.examples import DEFAULT_CONFIGS, EXAMPLES, predictor_ceiling, sample_row, train_example
from bench.serve.report import check_targets, markdown
from bench.serve.runs import PACKAGES, bench_model


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.serve",
        description=bench.serve.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--models", default="churn,reviews", help=f"examples to serve, from {', '.join(EXAMPLES)}")
    ap.add_argument(
        "--trained",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="use this trained model directory instead of training NAME (repeatable)",
    )
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per measured run")
    ap.add_argument("--repeats", type=int, default=3, help="rounds per cell; the median round is reported")
    ap.add_argument(
        "--configs",
        help="servers to run, WORKERS:BATCHING comma-separated (BATCHING: tk greedy, "
        f"or bentoml's dispatcher); default per model: {DEFAULT_CONFIGS}",
    )
    ap.add_argument("--out", type=Path, help="write serve.json and serve.md into this folder")
    ap.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the benchmark (client and servers) at this niceness, e.g. -5 on a machine "
        "shared with other jobs (negative needs root); 0: unchanged",
    )
    args = ap.parse_args(argv)
    if args.nice:
        os.nice(args.nice)  # children (the servers, the trivial server) inherit it
    trained = dict(t.split("=", 1) for t in args.trained)
    command = command_line("bench.serve", argv)
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = round(os.getloadavg()[0], 2)
    models = []
    with tempfile.TemporaryDirectory(prefix="tk-bench-serve-") as tmp:
        gen = loadgen.generator_ceiling(32, min(3.0, args.duration))
        print(f"load generator alone: {gen['req_per_s']:.0f} req/s at c=32, its CPU {gen['client_cpu_pct']:.0f}%")
        for name in args.models.split(","):
            model_dir = Path(trained[name]) if name in trained else train_example(name, Path(tmp) / name)
            body = json.dumps({"rows": [sample_row(model_dir, name)]}).encode()
            pred = predictor_ceiling(model_dir, name)
            for p in pred:
                print(
                    f"{name} Predictor threads={p['threads']} rows={p['rows']}: {p['ms_per_call']} ms, "
                    f"{p['rows_per_s']:,} rows/s"
                )
            configs = [
                (int(w), b or "tk")
                for w, _, b in (cfg.partition(":") for cfg in (args.configs or DEFAULT_CONFIGS[name]).split(","))
            ]
            servers = bench_model(model_dir, configs, body, args.duration, args.repeats)
            model = {"name": name, "predictor": pred, "servers": servers}
            model["targets"] = check_targets(model)
            models.append(model)
    result = {
        "started": started,
        "command": command,
        "machine": machine(PACKAGES),
        "duration_s": args.duration,
        "repeats": args.repeats,
        "niceness": os.nice(0),
        "load_start": load_start,
        "load_end": round(os.getloadavg()[0], 2),
        "generator_ceiling": gen,
        "models": models,
    }
    md = markdown(result, command)
    print(md)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "serve.md").write_text(md)


if __name__ == "__main__":
    main()
