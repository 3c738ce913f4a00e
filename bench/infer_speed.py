"""Inference speed side by side: tk's ONNX file, tk's Predictor, a skl2onnx pipeline (churn).

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.infer_speed --out bench/results

Writes bench/results/infer_speed.json and infer_speed.md. Routes, each timed at 1, 1,000 and
65,536 rows (the test rows, tiled to 65,536), interleaved over rounds, median per call, gc off,
onnxruntime with 1 intra-op and 1 inter-op thread:

  tk_ort            tk's model.onnx, `session.run` on numpy columns (float32 / str, shape [N])
  tk_predictor      `toolkit.runtime.Predictor.predict(records)`: dict rows in, dict rows out
  tk_predictor_before  the same, with the Predictor of `--before` (default `git:HEAD`, i.e.
                    toolkit/runtime.py as last committed), loaded from a temporary copy: the
                    before/after of the runtime change, measured in the same run
  tk_frame          `Predictor.run(DataFrame)`: the raw output arrays, what `tk predict` (via
                    TrainedModel.outputs_for) calls per chunk; the frame is read back from a
                    Parquet copy of the rows, so its dtypes are what `tk predict` sees (int64,
                    float64, pandas str); `tk_frame_before` the same with the --before runtime
  skl2onnx_ort      scikit-learn one-hot + LogisticRegression (bench.latency.onehot_logreg),
                    fitted on train + validation, converted by skl2onnx, `session.run` ([N, 1])

The tk routes are checked against each other before timing (identical labels, |Δp| ≤ 1e-6).
The model is trained once into runs/bench/churn (bench.latency.get_model), reused after.
The machine is usually shared: absolute times are noisy; the ratios are measured side by side.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = (1, 1_000, 65_536)
RUNS = {1: 1_000, 1_000: 100, 65_536: 6}  # timed calls per route and size (all rounds together)
ROUTES = {
    "tk_ort": "tk model.onnx, session.run (numpy columns)",
    "tk_predictor": "tk Predictor.predict(records)",
    "tk_predictor_before": "tk Predictor.predict(records), --before runtime",
    "tk_frame": "tk Predictor.run(DataFrame from Parquet) (what `tk predict` calls)",
    "tk_frame_before": "tk Predictor.run(DataFrame from Parquet), --before runtime",
    "skl2onnx_ort": "scikit-learn one-hot + LogisticRegression → skl2onnx, session.run",
}


def load_before(spec: str):
    """The Predictor class of an older toolkit/runtime.py ('git:REV' or a file path), or None."""
    if spec.startswith("git:"):
        proc = subprocess.run(["git", "show", f"{spec[4:]}:toolkit/runtime.py"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            return None, f"git show {spec[4:]}:toolkit/runtime.py failed: {proc.stderr.strip()[:120]}"
        source = proc.stdout
    else:
        source = Path(spec).read_text()
    tmp = Path(tempfile.mkdtemp()) / "runtime_before.py"
    tmp.write_text(source)
    module_spec = importlib.util.spec_from_file_location("tk_runtime_before", tmp)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.Predictor, None


def skl2onnx_session(trained, df, test_rows):
    """Fit the scikit-learn peer on train + validation, convert it; (session, feed builder)."""
    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    from bench.latency import onehot_logreg, ort_session
    from toolkit import prepare
    from toolkit.features.base import RAW_FLOAT

    by_type: dict[str, list[str]] = {}
    for f in trained.inputs:
        by_type.setdefault(f.type, []).append(f.config.source)
    fit = df[df["split"].isin(["train", "validation"])]
    out = trained.outputs[0]
    y = out.encode_target(prepare.target_columns([out], fit, "fit rows")[out.config.name])
    keep = ~np.isnan(y)
    x_fit = pd.DataFrame(prepare.input_columns(trained.inputs, fit, "fit rows"))[keep]
    est = onehot_logreg(by_type).fit(x_fit, y[keep].astype(int))
    types = [(c, FloatTensorType([None, 1]) if t == RAW_FLOAT else StringTensorType([None, 1]))
             for c, t in trained.preprocessor.columns.items()]
    sess = ort_session(to_onnx(est, initial_types=types, options={id(est): {"zipmap": False}}))
    x_test = pd.DataFrame(prepare.input_columns(trained.inputs, test_rows, "test rows"))
    got = sess.run(None, {c: x_test[c].to_numpy().reshape(-1, 1) for c in x_test})[1]
    assert np.abs(got - est.predict_proba(x_test)).max() < 1e-4, "skl2onnx differs from scikit-learn"
    return sess, {c: x_test[c].to_numpy().reshape(-1, 1) for c in x_test}


def build_routes(before_spec: str, notes: dict) -> dict:
    """{route: {rows: zero-argument callable}}, checked against each other."""
    import pandas as pd

    from bench.latency import MODELS, get_model, ort_session
    from toolkit import prepare
    from toolkit.runtime import Predictor

    entry = MODELS["churn"]
    trained, model_path = get_model("churn", entry, retrain=False)
    df = pd.read_csv(ROOT / entry.data)
    test = df[df["split"] == "test"]
    reps = -(-max(SIZES) // len(test))
    tiled = pd.concat([test] * reps, ignore_index=True).iloc[:max(SIZES)]
    names = list(trained.preprocessor.columns)
    columns = prepare.input_columns(trained.inputs, tiled, entry.data)
    records = tiled[names].to_dict(orient="records")
    with tempfile.TemporaryDirectory() as tmp:
        tiled[names].to_parquet(Path(tmp) / "rows.parquet")
        frame = pd.read_parquet(Path(tmp) / "rows.parquet")
    frames = {n: frame.iloc[:n] for n in SIZES}

    session = ort_session(str(model_path))
    feeds = {n: head(columns, n) for n in SIZES}
    routes = {"tk_ort": {n: (lambda f=feeds[n]: session.run(None, f)) for n in SIZES}}
    predictor = Predictor(model_path, threads=1)
    routes["tk_predictor"] = {n: (lambda r=records[:n]: predictor.predict(r)) for n in SIZES}
    routes["tk_frame"] = {n: (lambda f=frames[n]: predictor.run(f)) for n in SIZES}
    want = predictor.predict(records[:1_000])
    Before, why = load_before(before_spec)
    if Before is None:
        notes["tk_predictor_before"] = why
    else:
        old = Before(model_path, threads=1)
        routes["tk_predictor_before"] = {n: (lambda r=records[:n]: old.predict(r)) for n in SIZES}
        routes["tk_frame_before"] = {n: (lambda f=frames[n]: old.run(f)) for n in SIZES}
        a, b = predictor.run(frames[1_000]), old.run(frames[1_000])
        assert all(np.array_equal(a[k], b[k]) for k in a), "tk_frame_before: outputs differ"
        check("tk_predictor_before", old.predict(records[:1_000]), want)
    out = dict(zip([o.name for o in session.get_outputs()], session.run(None, {c: v[:1_000] for c, v in columns.items()})))
    name = trained.outputs[0].config.name
    ort_records = [{name: {"label": lab, "probabilities": dict(zip(predictor.classes[name], p))}}
                   for lab, p in zip(out[f"{name}::label"].tolist(), out[f"{name}::probabilities"].tolist())]
    check("tk_ort", ort_records, want)
    try:
        skl, feed = skl2onnx_session(trained, df, tiled)
        skl_feeds = {n: head(feed, n) for n in SIZES}
        routes["skl2onnx_ort"] = {n: (lambda f=skl_feeds[n]: skl.run(None, f)) for n in SIZES}
    except ImportError as e:
        notes["skl2onnx_ort"] = f"{e.name} not installed: pip install -e '.[bench]'"
    return routes


def head(columns: dict, n: int) -> dict:
    """The first `n` rows of every column."""
    return {c: v[:n] for c, v in columns.items()}


def check(route: str, got: list[dict], want: list[dict]) -> None:
    for i, (g, w) in enumerate(zip(got, want)):
        for k, entry in w.items():
            assert g[k]["label"] == entry["label"], f"{route}: row {i} label {g[k]['label']!r} != {entry['label']!r}"
            d = max(abs(g[k]["probabilities"][c] - p) for c, p in entry["probabilities"].items())
            assert d <= 1e-6, f"{route}: row {i} probabilities differ by {d:.2e}"


def measure(routes: dict, rounds: int) -> dict:
    """{route: {rows: {median_us, p10_us, p90_us, runs, rows_per_s}}}; routes interleaved per round."""
    samples = {r: {n: [] for n in SIZES} for r in routes}
    for fns in routes.values():  # warm-up
        for n, fn in fns.items():
            for _ in range(min(20, RUNS[n])):
                fn()
    gc.disable()
    try:
        for _ in range(rounds):
            for n in SIZES:
                for r, fns in routes.items():
                    for _ in range(-(-RUNS[n] // rounds)):
                        t0 = time.perf_counter_ns()
                        fns[n]()
                        samples[r][n].append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    out = {}
    for r, by_n in samples.items():
        out[r] = {}
        for n, ts in by_n.items():
            us = np.asarray(ts) / 1e3
            med = float(np.median(us))
            out[r][n] = {"median_us": med, "p10_us": float(np.percentile(us, 10)),
                         "p90_us": float(np.percentile(us, 90)), "runs": len(ts), "rows_per_s": n / med * 1e6}
    return out


def fmt(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def markdown(res: dict) -> str:

    m, t = res["machine"], res["timings"]
    lines = ["# Inference speed, side by side (churn)", "",
             (f"`{res['command']}` — {m['date']}, git {m['git_commit']}"
              + (" (toolkit/ or exporters/ had uncommitted changes)" if m["git_dirty"] else "")), "",
             (f"Machine: {m['cpus']} CPU ({m['cpu']}); onnxruntime {m['versions'].get('onnxruntime')}, "
             f"skl2onnx {m['versions'].get('skl2onnx')}. Load average at start {m['loadavg_start'][0]:.2f}, "
             f"at end {m['loadavg_end'][0]:.2f}: the machine is shared, absolute times are noisy; compare "
             "within a row of this table (measured interleaved, in the same run)."), "",
             (f"Median per call over {res['rounds']} interleaved rounds (gc off, 1 onnxruntime thread). "
              f"The `--before` routes use the Predictor of `{res['before']}`."), "",
             "| route | " + " | ".join(f"{n:,} row{'s' if n > 1 else ''}" for n in SIZES) + " | rows/s at 65,536 |",
             "|---|" + "---:|" * (len(SIZES) + 1)]
    for r, by_n in t.items():
        lines.append(f"| {ROUTES[r]} | " + " | ".join(fmt(by_n[n]["median_us"]) for n in SIZES)
                     + f" | {by_n[SIZES[-1]]['rows_per_s']:,.0f} |")
    lines += ["", "Ratios (same run):", ""]
    pairs = [("tk_predictor", "tk_predictor_before", "Predictor.predict(records) after / before"),
             ("tk_frame", "tk_frame_before", "Predictor.run(DataFrame) after / before"),
             ("tk_ort", "skl2onnx_ort", "tk session.run / skl2onnx session.run"),
             ("tk_predictor", "skl2onnx_ort", "tk Predictor / skl2onnx session.run")]
    for a, b, label in pairs:
        if a in t and b in t:
            lines.append(f"- {label}: " + ", ".join(
                f"{n:,} rows {t[a][n]['median_us'] / t[b][n]['median_us']:.2f}×" for n in SIZES))
    for r, why in res["notes"].items():
        lines.append(f"- {r}: not measured ({why})")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    from bench.latency import machine

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
    res = {"command": "python -m bench.infer_speed " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": info, "before": args.before, "rounds": args.rounds, "timings": timings, "notes": notes}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "infer_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "infer_speed.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
