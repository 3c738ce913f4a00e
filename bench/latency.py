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
  onnx_core   the model-only graph (`exporters.onnx.export_core`) fed the preprocessed tensors: the floor
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
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NODE_DIR = ROOT / "examples" / "edge" / "node"
TOLERANCE = 1e-5

ROUTES = {
    "onnx_full": "tk ONNX file, session.run (numpy columns)",
    "predictor": "tk ONNX file, Predictor.predict(records)",
    "onnx_core": "model-only ONNX graph (floor)",
    "onnx_inputs": "raw inputs only: Shape of each (input-binding floor)",
    "torch_eager": "Python preprocessing + torch eager",
    "skl2onnx": "scikit-learn LogisticRegression → skl2onnx",
    "sklearn": "scikit-learn predict_proba (DataFrame)",
    "node": "tk ONNX file, onnxruntime-node",
    "wasm": "tk ONNX file, onnxruntime-web (wasm, Node)",
}
# Measured earlier on this kind of machine (issue 4); not re-measured here.
REFERENCES = {"churn": [
    ("Ludwig 0.11 LudwigModel.predict", 18_600.0, None),
    ("Ludwig 0.11 TorchScript export (from a DataFrame)", 1_460.0, None),
    ("scikit-learn → skl2onnx (issue's measurement)", 35.0, 204.0),
    ("scikit-learn predict_proba (issue's measurement)", 6_900.0, None),
]}
TARGETS = {"churn": {"full_1_us": 40.0, "full_256_us": 300.0, "full_over_floor": 3.0}}


# --------------------------------------------------------------------------- registry

def onehot_logreg(columns: dict[str, list[str]]):
    """Numbers: mean-impute + standard-scale; every other column one-hot (unknown ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = columns.get("number", [])
    others = [c for t, cols in columns.items() if t != "number" for c in cols]
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numbers),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), others)])
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])


@dataclass(frozen=True)
class BenchModel:
    config: str                                   # tk config, relative to the repository root
    data: str                                     # its dataset
    split_column: str = "split"
    test: tuple[str, ...] = ("test",)             # rows timed (the first 1 / 256 of them)
    fit: tuple[str, ...] = ("train", "validation")  # rows the scikit-learn route fits on
    sklearn: Callable | None = onehot_logreg      # builder({tk type: [column]}) → estimator, or None
    sizes: tuple[int, ...] = (1, 256)


MODELS: dict[str, BenchModel] = {
    "churn": BenchModel("examples/churn/config.yaml", "examples/churn/churn.csv"),
    # "reviews": BenchModel("examples/reviews/config.yaml", "examples/reviews/reviews.csv",
    #                       sklearn=tfidf_logreg),   # when the text model lands
}


# --------------------------------------------------------------------------- the routes

def ort_session(model, profile_dir: str | None = None):
    """onnxruntime, CPU, 1 intra-op and 1 inter-op thread, all graph optimisations."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if profile_dir:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(profile_dir) / "ort")
    source = model if isinstance(model, (str, bytes)) else model.SerializeToString()
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


class Unsupported(Exception):
    """A route that has no implementation for this model (named in the report)."""


def python_preprocess(inputs) -> Callable[[dict], list[np.ndarray]]:
    """The preprocessing graph written by hand in numpy/Python from each feature's state()."""
    from toolkit.features.category import FIRST_ID, MISSING_ID, UNKNOWN_ID

    steps = []
    for f in inputs:
        s, col = f.state(), f.config.source
        if f.type == "number":
            fill, lo, hi = np.float32(s["fill"]), np.float32(s["min"]), np.float32(s["max"])
            if s["edges"]:
                e = np.asarray(s["edges"], dtype=np.float64)
                left, width = e[:-1].astype(np.float32), np.maximum(np.diff(e), 1e-12).astype(np.float32)
                steps.append(lambda c, col=col, fill=fill, lo=lo, hi=hi, left=left, width=width: np.clip(
                    (np.clip(np.where(np.isnan(c[col]), fill, c[col]), lo, hi)[:, None] - left) / width, 0, 1))
            else:
                shift, scale = np.float32(s["shift"]), np.float32(s["scale"])
                steps.append(lambda c, col=col, fill=fill, lo=lo, hi=hi, shift=shift, scale=scale: (
                    (np.clip(np.where(np.isnan(c[col]), fill, c[col]), lo, hi) - shift) / scale)[:, None])
        elif f.type == "binary":
            table = {k: 1.0 for k in s["mapping"]["true"]} | {k: 0.0 for k in s["mapping"]["false"]}
            steps.append(lambda c, col=col, t=table, fill=s["fill"]: np.array(
                [t.get(v.lower(), fill) for v in c[col]], dtype=np.float32)[:, None])
        elif f.type == "category":
            ids = {v: i + FIRST_ID for i, v in enumerate(s["vocab"])} | {"": MISSING_ID}
            lower = f.config.preprocessing.lowercase
            steps.append(lambda c, col=col, ids=ids, lower=lower: np.fromiter(
                (ids.get(v.lower() if lower else v, UNKNOWN_ID) for v in c[col]), dtype=np.int64, count=len(c[col])))
        else:
            raise Unsupported(f"no Python twin of the {f.type!r} preprocessing in bench/latency.py yet")
    return lambda columns: [step(columns) for step in steps]


def build_routes(name: str, entry: BenchModel, trained, model_path: Path, df, columns, runs: int, notes: dict):
    """{route: {size: zero-argument callable, or a median in µs measured elsewhere}}."""
    import torch

    from exporters.onnx import export_core
    from toolkit.preprocess import pre_name
    from toolkit.runtime import Predictor

    torch.set_num_threads(1)
    sizes, routes = entry.sizes, {}
    full = ort_session(str(model_path))
    feeds = {n: {c: v[:n] for c, v in columns.items()} for n in sizes}
    routes["onnx_full"] = {n: (lambda f=feeds[n]: full.run(None, f)) for n in sizes}

    predictor = Predictor(model_path, threads=1)
    inputs = [c for c in columns]
    test = df[df[entry.split_column].isin(entry.test)]
    records = {n: test[inputs].iloc[:n].to_dict(orient="records") for n in sizes}
    routes["predictor"] = {n: (lambda r=records[n]: predictor.predict(r)) for n in sizes}

    routes["onnx_inputs"] = {n: (lambda s=binding_floor(full), f=feeds[n]: s.run(None, f)) for n in sizes}

    core = ort_session(export_core(trained))
    pre = trained.preprocessor.transform(columns)
    core_feeds = {n: {pre_name(f): pre[f.config.name][:n] for f in trained.inputs} for n in sizes}
    routes["onnx_core"] = {n: (lambda f=core_feeds[n]: core.run(None, f)) for n in sizes}

    try:
        prep = python_preprocess(trained.inputs)
        model, outputs = trained.model.eval(), trained.outputs

        def eager(cols):
            with torch.no_grad():
                raw = model(*[torch.from_numpy(a) for a in prep(cols)])
            return {f"{o.config.name}::{k}": v for o, r in zip(outputs, raw) for k, v in o.predict(r.numpy()).items()}
        routes["torch_eager"] = {n: (lambda f=feeds[n]: eager(f)) for n in sizes}
        check(name, "torch_eager", eager(columns), dict(zip([o.name for o in full.get_outputs()], full.run(None, columns))))
    except Unsupported as e:
        notes["torch_eager"] = str(e)

    if entry.sklearn is None:
        notes["skl2onnx"] = notes["sklearn"] = f"no scikit-learn builder in MODELS[{name!r}]"
    else:
        try:
            skl, skl_onnx = sklearn_routes(entry, trained, df, sizes)
            routes["sklearn"], routes["skl2onnx"] = skl, skl_onnx
        except ImportError as e:
            notes["skl2onnx"] = f"{e.name} not installed: pip install -e '.[bench]'"
    routes |= node_routes(model_path, columns, sizes, runs, notes)
    return routes


def binding_floor(session):
    """A graph with the same inputs that only concatenates their shapes: input binding + 1 output."""
    from onnx import TensorProto, helper

    from toolkit.onnxgraph import IR_VERSION

    ins = session.get_inputs()
    elem = {"tensor(string)": TensorProto.STRING, "tensor(float)": TensorProto.FLOAT}
    nodes = [helper.make_node("Shape", [i.name], [f"{i.name}::shape"], name=f"shape/{i.name}") for i in ins]
    nodes.append(helper.make_node("Concat", [f"{i.name}::shape" for i in ins], ["shapes"], name="concat", axis=0))
    graph = helper.make_graph(nodes, "binding_floor",
                              [helper.make_tensor_value_info(i.name, elem[i.type], ["N"]) for i in ins],
                              [helper.make_tensor_value_info("shapes", TensorProto.INT64, [len(ins)])])
    return ort_session(helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", 20)]))


def sklearn_routes(entry: BenchModel, trained, df, sizes):
    """The do-it-yourself peer: a scikit-learn pipeline, and the same converted by skl2onnx."""
    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    from toolkit import prepare
    from toolkit.features.base import RAW_FLOAT

    by_type: dict[str, list[str]] = {}
    for f in trained.inputs:
        by_type.setdefault(f.type, []).append(f.config.source)
    fit = df[df[entry.split_column].isin(entry.fit)]
    test = df[df[entry.split_column].isin(entry.test)]
    out = trained.outputs[0]
    y = out.encode_target(prepare.target_columns([out], fit, "fit rows")[out.config.name])
    keep = ~np.isnan(y)
    x_fit = pd.DataFrame(prepare.input_columns(trained.inputs, fit, "fit rows"))[keep]
    x_test = pd.DataFrame(prepare.input_columns(trained.inputs, test, "test rows"))
    est = entry.sklearn(by_type).fit(x_fit, y[keep].astype(int))
    types = [(c, FloatTensorType([None, 1]) if t == RAW_FLOAT else StringTensorType([None, 1]))
             for c, t in trained.preprocessor.columns.items()]
    onx = to_onnx(est, initial_types=types, options={id(est): {"zipmap": False}})
    sess = ort_session(onx)
    feeds = {n: {c: x_test[c].to_numpy()[:n].reshape(-1, 1) for c in x_test} for n in sizes}
    frames = {n: x_test.iloc[:n] for n in sizes}
    got = sess.run(None, feeds[sizes[-1]])[1]
    want = est.predict_proba(frames[sizes[-1]])
    assert np.abs(got - want).max() < 1e-4, f"skl2onnx differs from scikit-learn by {np.abs(got - want).max():.2e}"
    return ({n: (lambda f=frames[n]: est.predict_proba(f)) for n in sizes},
            {n: (lambda f=feeds[n]: sess.run(None, f)) for n in sizes})


def node_routes(model_path: Path, columns, sizes, runs: int, notes: dict) -> dict:
    """predict.js --repeat in onnxruntime-node and onnxruntime-web (wasm): medians measured in Node."""
    node = shutil.which("node")
    found = {}
    for route, flags, package in (("node", [], "onnxruntime-node"), ("wasm", ["--wasm"], "onnxruntime-web")):
        if node is None or not (NODE_DIR / "node_modules" / package).is_dir():
            notes[route] = ("node not found" if node is None else
                            f"{package} not installed: sh examples/edge/node/install.sh")
            continue
        found[route] = {}
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                rows = Path(tmp) / "rows.json"
                rows.write_text(json.dumps({c: [None if isinstance(v, float) and np.isnan(v) else v
                                                for v in col[:n].tolist()] for c, col in columns.items()}))
                proc = subprocess.run([node, str(NODE_DIR / "predict.js"), str(model_path), str(rows),
                                       *flags, "--repeat", str(runs)], capture_output=True, text=True, timeout=600)
            m = re.search(r"median ([\d.]+) µs", proc.stderr)
            if proc.returncode or not m:
                notes[route] = f"predict.js failed: {proc.stderr.strip()[-200:]}"
                found.pop(route)
                break
            found[route][n] = float(m.group(1))
    return found


def check(name: str, route: str, got: dict, want: dict) -> None:
    for k, w in want.items():
        g = got[k]
        if w.dtype == object:
            bad = int((np.asarray(g, dtype=object) != w).sum())
            assert not bad, f"{name}/{route}: {k}: {bad} labels differ from the full ONNX pipeline"
        else:
            d = float(np.max(np.abs(np.asarray(g, dtype=np.float64) - w)))
            assert d <= TOLERANCE, f"{name}/{route}: {k}: max |Δ| {d:.2e} from the full ONNX pipeline"


# --------------------------------------------------------------------------- timing

def measure(routes: dict, sizes, runs: int, rounds: int) -> dict:
    """{route: {size: {median_us, p10_us, p90_us, runs}}}; routes interleaved over `rounds`."""
    samples = {r: {n: [] for n in sizes} for r, v in routes.items() if not isinstance(v[sizes[0]], float)}
    per_round = -(-runs // rounds)
    for fns in routes.values():  # warm-up
        for n, fn in fns.items():
            if callable(fn):
                for _ in range(max(20, min(200, runs // 10))):
                    fn()
    gc.disable()
    try:
        for _ in range(rounds):
            for r in samples:
                for n in sizes:
                    fn, out = routes[r][n], samples[r][n]
                    for _ in range(per_round):
                        t0 = time.perf_counter_ns()
                        fn()
                        out.append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    result = {}
    for r, fns in routes.items():
        result[r] = {}
        for n in sizes:
            if r in samples:
                ts = np.asarray(samples[r][n]) / 1e3
                result[r][n] = {"median_us": float(np.median(ts)), "p10_us": float(np.percentile(ts, 10)),
                                "p90_us": float(np.percentile(ts, 90)), "runs": int(len(ts))}
            else:
                result[r][n] = {"median_us": fns[n], "runs": runs, "measured_in": "Node.js"}
    return result


def profile(model_path: Path, columns, n: int, runs: int, stages: dict) -> dict:
    """onnxruntime's profiler on the full pipeline: per-node, per-op and per-stage µs per run."""
    feed = {c: v[:n] for c, v in columns.items()}
    with tempfile.TemporaryDirectory() as tmp:
        sess = ort_session(str(model_path), profile_dir=tmp)
        for _ in range(runs):
            sess.run(None, feed)
        events = json.loads(Path(sess.end_profiling()).read_text())
    nodes, op_of, total = {}, {}, []
    for ev in events:
        if ev.get("cat") == "Node" and ev["name"].endswith("_kernel_time"):
            node = ev["name"][: -len("_kernel_time")]
            nodes[node] = nodes.get(node, 0.0) + ev["dur"]
            op_of[node] = ev.get("args", {}).get("op_name", "?")
        elif ev.get("cat") == "Session" and ev["name"] == "model_run":
            total.append(ev["dur"])
    runs_seen = max(len(total), 1)
    per_node = {k: v / runs_seen for k, v in nodes.items()}
    by_op, by_stage, count = {}, {}, {}
    for k, v in per_node.items():
        by_op[op_of[k]] = by_op.get(op_of[k], 0.0) + v
        feature = re.search(r"\[([^/\]]+)/", k)  # tk names nodes "Op[feature/step]"; the core "model/…"
        stage = ("model" if "model/" in k else "post" if feature and feature.group(1) in stages["post"]
                 else "pre")
        by_stage[stage] = by_stage.get(stage, 0.0) + v
        count[stage] = count.get(stage, 0) + 1
    kernels = sum(per_node.values())
    share = lambda us: 100.0 * us / kernels if kernels else 0.0  # noqa: E731
    return {"rows": n, "runs": runs_seen, "nodes": len(per_node), "nodes_by_stage": count,
            "model_run_mean_us_profiled": float(np.mean(total)) if total else None,
            "kernels_mean_us_profiled": kernels,
            "by_stage_pct": {k: share(v) for k, v in sorted(by_stage.items(), key=lambda kv: -kv[1])},
            "by_op_pct": {k: share(v) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])},
            "top_nodes": [{"node": k, "op": op_of[k], "us_profiled": v, "pct": share(v)}
                          for k, v in sorted(per_node.items(), key=lambda kv: -kv[1])[:12]]}


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


# --------------------------------------------------------------------------- report

def version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    node = shutil.which("node")
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpus": os.cpu_count(), "cpu": cpu,
            "platform": platform.platform(), "python": platform.python_version(),
            "versions": {p: version(p) for p in ("onnxruntime", "onnx", "torch", "numpy", "scikit-learn", "skl2onnx")}
            | {"node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else None},
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--", "toolkit", "exporters")),
            "loadavg_start": list(os.getloadavg())}


def fmt(us: float | None) -> str:
    if us is None:
        return "–"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def markdown(res: dict) -> str:
    m = res["machine"]
    v = ", ".join(f"{k} {x}" for k, x in m["versions"].items() if x)
    lines = [
        "# Inference latency", "",
        f"`{res['command']}` — {m['date']}, git {m['git_commit']}"
        + (" (toolkit/ or exporters/ had uncommitted changes)" if m["git_dirty"] else ""), "",
        f"Machine: {m['cpus']} CPU ({m['cpu']}), {v}. Load average at start {m['loadavg_start'][0]:.2f}, "
        f"at end {m['loadavg_end'][0]:.2f}.", "",
        f"Median of {res['runs']} timed calls per cell (interleaved over {res['rounds']} rounds, after a warm-up, "
        "gc off), onnxruntime with 1 intra-op + 1 inter-op thread, torch with 1 thread. Every route starts from "
        "the same raw test columns and returns labels and probabilities; the tk routes are checked against the "
        "full ONNX file before timing (labels identical, |Δp| ≤ 1e-5). The scikit-learn routes are a different "
        "model (one-hot + LogisticRegression), for scale.", ""]
    for name, r in res["models"].items():
        t, sizes = r["timings"], sorted({int(n) for x in r["timings"].values() for n in x})
        lines += [f"## {name}", "",
                  f"Config `{r['config']}`, {r['test_rows']} test rows of `{r['data']}`; model.onnx "
                  f"{r['onnx_bytes'] / 1024:.0f} KiB.", "",
                  "| route | " + " | ".join(f"{n} row{'s' if n > 1 else ''}" for n in sizes)
                  + f" | µs/row at {sizes[-1]} | × floor ({sizes[0]} / {sizes[-1]}) |",
                  "|---|" + "---:|" * (len(sizes) + 2)]
        floor = t.get("onnx_core", {})
        for route, label in ROUTES.items():
            if route not in t:
                continue
            cells = [fmt(t[route][n]["median_us"]) for n in sizes]
            per_row = t[route][sizes[-1]]["median_us"] / sizes[-1]
            ratio = " / ".join(f"{t[route][n]['median_us'] / floor[n]['median_us']:.1f}×" for n in sizes) if floor else "–"
            bold = "**" if route == "onnx_full" else ""
            lines.append(f"| {bold}{label}{bold} | " + " | ".join(cells) + f" | {per_row:.2f} | {ratio} |")
        for route, why in r["notes"].items():
            lines.append(f"| {ROUTES[route]} | not measured: {why} |" + " |" * (len(sizes) + 1))
        for label, one, many in REFERENCES.get(name, []):
            lines.append(f"| {label} (reference, not re-measured) | {fmt(one)} | {fmt(many)} | | |")
        target = TARGETS.get(name)
        if target and 1 in t["onnx_full"] and 256 in t["onnx_full"]:
            f1, f256 = t["onnx_full"][1]["median_us"], t["onnx_full"][256]["median_us"]
            worst = max(t["onnx_full"][n]["median_us"] / floor[n]["median_us"] for n in sizes)
            ok = lambda b: "met" if b else "NOT met"  # noqa: E731
            lines += ["", f"Targets: full pipeline ≤ {target['full_1_us']:.0f} µs for 1 row: {fmt(f1)}, "
                      f"{ok(f1 <= target['full_1_us'])}; ≤ {target['full_256_us']:.0f} µs for 256 rows: {fmt(f256)}, "
                      f"{ok(f256 <= target['full_256_us'])}; ≤ {target['full_over_floor']:.0f}× the model-only floor: "
                      f"{worst:.1f}×, {ok(worst <= target['full_over_floor'])}. "
                      f"Ludwig's predict / this: {18_600 / f1:.0f}×; its TorchScript / this: {1_460 / f1:.0f}×."]
            if "skl2onnx" in t:
                lines[-1] += (" Against skl2onnx measured in this run: " + ", ".join(
                    f"{t['onnx_full'][n]['median_us'] / t['skl2onnx'][n]['median_us']:.2f}× at {n}" for n in sizes)
                    + " (tk / skl2onnx).")
        for p in r.get("profile", []):
            lines += ["", f"### Where the full pipeline spends its time: {p['rows']} row{'s' if p['rows'] > 1 else ''} "
                      f"(onnxruntime profiler, {p['runs']} runs)", "",
                      f"{p['nodes']} nodes run (" + ", ".join(f"{k} {c}" for k, c in p["nodes_by_stage"].items())
                      + "). The profiler's own cost per node inflates every time (a run "
                      f"averaged {fmt(p['model_run_mean_us_profiled'])} while profiled), so read the shares of "
                      "kernel time. By stage: " + ", ".join(f"{k} {x:.0f} %" for k, x in p["by_stage_pct"].items())
                      + ". By op type: " + ", ".join(f"{k} {x:.0f} %" for k, x in list(p["by_op_pct"].items())[:10])
                      + ".", "", "| node | op | share of kernel time | µs (profiled) |", "|---|---|---:|---:|"]
            lines += [f"| `{x['node']}` | {x['op']} | {x['pct']:.1f} % | {x['us_profiled']:.1f} |" for x in p["top_nodes"]]
        lines.append("")
    return "\n".join(lines)


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
