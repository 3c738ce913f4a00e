"""Inference latency: tk's single ONNX file against the routes a user could take instead.

Run by hand from the repository root (it is not a test):

    .venv/bin/python bench/latency.py --models churn --runs 1000 --out bench/results

Writes bench/results/latency.json and latency.md. For each model and batch size
(1 and 256 of the test rows), the median of `--runs` timed calls (after a
warm-up; garbage collector off while timing), onnxruntime with 1 intra-op and
1 inter-op thread, torch with 1 thread. Every route starts from the same raw
test columns and ends at labels + probabilities, and is checked against the
full ONNX pipeline (labels identical, probabilities within 1e-5) before it is
timed, except the scikit-learn routes, which are another model:

  onnx_full   the full tk file (pre + model + post): `session.run` on prepared numpy columns
  predictor   the same file through `toolkit.runtime.Predictor.predict(records)`: Python overhead included
  onnx_core   the model-only graph (`toolkit.export.onnx.export_core`) fed the preprocessed tensors: the floor
  onnx_inputs the same raw columns into a graph that only takes each one's Shape: what handing the
              raw columns (strings included) to onnxruntime costs, below which no single file can go
  torch_eager preprocessing in numpy/Python from the features' `state()` (what a do-it-yourself
              user writes), then `trained.model(*tensors)` under torch.no_grad, then the output's `predict`
  skl2onnx    a scikit-learn pipeline (impute + scale numbers, one-hot the rest, LogisticRegression)
              fitted on train + validation, converted with skl2onnx (zipmap off), in onnxruntime
  sklearn     that scikit-learn pipeline's own `predict_proba` on a DataFrame (for scale)
  node, wasm  the full tk file in onnxruntime-node / onnxruntime-web (wasm) via
              examples/edge/node/predict.js --repeat (when node and its packages are installed)

Routes are measured in interleaved rounds (`--rounds`), so a noisy neighbour
hits them alike. When the full pipeline misses its 1-row target (or with
`--profile`), onnxruntime's profiler (SessionOptions.enable_profiling) names
the nodes that cost the most.

To add a model, add one entry to MODELS: its tk config and data, how the test
(and scikit-learn fit) rows are chosen, and a scikit-learn builder (or None).
Needs the `bench` extra: skl2onnx.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency_models import MODELS, BenchModel, onehot_logreg  # noqa: E402
from bench.latency_report import TARGETS, machine, markdown  # noqa: E402
from bench.latency_routes import build_routes, ort_session  # noqa: E402
from bench.latency_timing import measure, profile  # noqa: E402

# Imported from here by bench/infer_speed.py.
__all__ = ["MODELS", "BenchModel", "get_model", "machine", "main", "onehot_logreg", "ort_session"]


# --------------------------------------------------------------------------- one model

def get_model(name: str, entry: BenchModel, retrain: bool):
    """Train once into runs/bench/<name> (reused unless --retrain) and load it."""
    from toolkit import load, log, train

    out = ROOT / "runs" / "bench" / name
    if retrain or not (out / "model.onnx").exists():
        print(f"[{name}] training {entry.config} → {out.relative_to(ROOT)}", flush=True)
        log.quiet = True
        train(ROOT / entry.config, ROOT / entry.data, output=out)
    return load(out), out / "model.onnx"


def bench_model(name: str, args) -> dict:
    import pandas as pd

    from toolkit import prepare

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
    result = {"config": entry.config, "data": entry.data, "test_rows": int(len(test)),
              "onnx_bytes": model_path.stat().st_size, "timings": timings, "notes": notes}
    full1 = timings["onnx_full"][1]["median_us"]
    target = TARGETS.get(name, {})
    if args.profile or full1 > target.get("full_1_us", float("inf")):
        stages = {"post": {o.config.name for o in trained.outputs}}
        result["profile"] = [profile(model_path, columns, n, args.profile_runs, stages) for n in entry.sizes]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="churn", help=f"comma-separated, of: {', '.join(MODELS)}")
    ap.add_argument("--runs", type=int, default=1000, help="timed calls per route and size (≥ 1000 to publish)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds the runs are spread over")
    ap.add_argument("--profile", action="store_true", help="profile the full pipeline even when on target")
    ap.add_argument("--profile-runs", type=int, default=2000)
    ap.add_argument("--retrain", action="store_true", help="train again instead of reusing runs/bench/<model>")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        ap.error(f"--models: unknown {', '.join(unknown)}; known: {', '.join(MODELS)}")
    res = {"command": "python bench/latency.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "runs": args.runs, "rounds": args.rounds, "machine": machine(), "models": {}}
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
