"""`python -m bench.gbm.latency`: one-file latency of churn as a network, a GBM and both (ensemble).

    .venv/bin/python -m bench.gbm.latency --rounds 5 --runs 400 --out bench/results

Trains examples/churn/config.yaml three ways (model_type nn, gbm, ensemble; reused from
runs/bench/churn-<kind> unless --retrain), then times `session.run` of each whole model.onnx
(raw columns in, labels and probabilities out) on 1 and 256 test rows, interleaved, onnxruntime
with one thread. (The skl2onnx pipeline of the same rows is timed by `python -m bench.latency`:
bench/results/latency.md.) Writes <out>/gbm_latency.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.common import ROOT, interleaved, machine, ort_session, percentile

KINDS = ("nn", "gbm", "ensemble")


def train_kinds(retrain: bool) -> dict[str, Path]:
    import yaml

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    found = {}
    for kind in KINDS:
        out = ROOT / "runs" / "bench" / f"churn-{kind}"
        if retrain or not (out / "model.onnx").exists():
            cfg = yaml.safe_load((ROOT / "examples/churn/config.yaml").read_text())
            cfg |= {"model_type": kind, "dataset": str(ROOT / "examples/churn/churn.csv")}
            print(f"[churn-{kind}] training → {out.relative_to(ROOT)}", flush=True)
            train(cfg, output=out)
        found[kind] = out
    return found


def feeds(model_dir: Path, rows: int) -> dict[str, np.ndarray]:
    """The first `rows` test rows as the file's raw inputs."""
    import pandas as pd

    from toolkit import load
    from toolkit.features import columns as prepare

    model = load(model_dir)
    df = pd.read_csv(ROOT / "examples/churn/churn.csv")
    test = df[df["split"] == "test"].head(rows)
    return prepare.input_columns(model.inputs, test, "churn.csv")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.gbm.latency", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=400, help="timed calls per route and size, over all rounds")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = p.parse_args(argv)

    dirs = train_kinds(args.retrain)
    routes, sizes = {}, (1, 256)
    for kind, path in dirs.items():
        sess = ort_session(str(path / "model.onnx"))
        names = {i.name for i in sess.get_inputs()}
        per_size = {}
        for n in sizes:
            feed = {c: v for c, v in feeds(path, n).items() if c in names}
            per_size[n] = lambda s=sess, f=feed: s.run(None, f)
        routes[f"tk {kind} file"] = per_size
    timed = interleaved(routes, lambda n: args.runs, args.rounds, lambda n: 20)
    result = {
        "machine": machine(["onnxruntime", "lightgbm", "torch"]),
        "median_ms": {r: {str(n): percentile(v, 50) / 1e6 for n, v in by.items()} for r, by in timed.items()},
        "p99_ms": {r: {str(n): percentile(v, 99) / 1e6 for n, v in by.items()} for r, by in timed.items()},
        "file_kib": {k: round((d / "model.onnx").stat().st_size / 1024, 1) for k, d in dirs.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gbm_latency.json").write_text(json.dumps(result, indent=1))
    lines = [
        "# churn: one-file latency of a network, a GBM and both (`python -m bench.gbm.latency`)",
        "",
        "onnxruntime, 1 intra-op thread, median (p99) ms of `session.run` from raw columns to labels "
        "and probabilities, interleaved rounds.",
        "",
        "| file | 1 row | 256 rows | file KiB |",
        "|---|---:|---:|---:|",
    ]
    for r in routes:
        kind = r.split()[1]
        m, q = result["median_ms"][r], result["p99_ms"][r]
        lines.append(
            f"| {r} | {m['1']:.3f} ({q['1']:.3f}) | {m['256']:.3f} ({q['256']:.3f}) | {result['file_kib'][kind]} |"
        )
    (args.out / "gbm_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
