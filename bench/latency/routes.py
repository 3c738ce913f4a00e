"""The routes bench.latency times: zero-argument callables, one per route and batch size.

build_routes returns {route: {size: callable, or a median in µs measured elsewhere (Node)}};
every tk route is checked against the full ONNX pipeline first (labels identical,
probabilities within TOLERANCE). Every onnxruntime route uses bench.common.ort_session
(CPU, 1 intra-op and 1 inter-op thread).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import ROOT, ort_session
from bench.latency import sklearn_peer
from bench.latency.models import BenchModel

NODE_DIR = ROOT / "examples" / "edge" / "node"
TOLERANCE = 1e-5


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
                steps.append(
                    lambda c, col=col, fill=fill, lo=lo, hi=hi, left=left, width=width: np.clip(
                        (np.clip(np.where(np.isnan(c[col]), fill, c[col]), lo, hi)[:, None] - left) / width, 0, 1
                    )
                )
            else:
                shift, scale = np.float32(s["shift"]), np.float32(s["scale"])
                steps.append(
                    lambda c, col=col, fill=fill, lo=lo, hi=hi, shift=shift, scale=scale: (
                        (np.clip(np.where(np.isnan(c[col]), fill, c[col]), lo, hi) - shift) / scale
                    )[:, None]
                )
        elif f.type == "binary":
            table = {k: 1.0 for k in s["mapping"]["true"]} | {k: 0.0 for k in s["mapping"]["false"]}
            steps.append(
                lambda c, col=col, t=table, fill=s["fill"]: np.array(
                    [t.get(v.lower(), fill) for v in c[col]], dtype=np.float32
                )[:, None]
            )
        elif f.type == "category":
            ids = {v: i + FIRST_ID for i, v in enumerate(s["vocab"])} | {"": MISSING_ID}
            lower = f.config.preprocessing.lowercase
            steps.append(
                lambda c, col=col, ids=ids, lower=lower: np.fromiter(
                    (ids.get(v.lower() if lower else v, UNKNOWN_ID) for v in c[col]), dtype=np.int64, count=len(c[col])
                )
            )
        else:
            raise Unsupported(f"no Python twin of the {f.type!r} preprocessing in bench.latency yet")
    return lambda columns: [step(columns) for step in steps]


def build_routes(name: str, entry: BenchModel, trained, model_path: Path, df, columns, runs: int, notes: dict):
    """{route: {size: zero-argument callable, or a median in µs measured elsewhere}}."""
    import torch

    from toolkit.export.onnx import export_core
    from toolkit.features.pregraph import pre_name
    from toolkit.runtime.predictor import Predictor

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
        check(
            name,
            "torch_eager",
            eager(columns),
            dict(zip([o.name for o in full.get_outputs()], full.run(None, columns))),
        )
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

    from toolkit.common.onnxgraph import IR_VERSION

    ins = session.get_inputs()
    elem = {"tensor(string)": TensorProto.STRING, "tensor(float)": TensorProto.FLOAT}
    nodes = [helper.make_node("Shape", [i.name], [f"{i.name}::shape"], name=f"shape/{i.name}") for i in ins]
    nodes.append(helper.make_node("Concat", [f"{i.name}::shape" for i in ins], ["shapes"], name="concat", axis=0))
    graph = helper.make_graph(
        nodes,
        "binding_floor",
        [helper.make_tensor_value_info(i.name, elem[i.type], ["N"]) for i in ins],
        [helper.make_tensor_value_info("shapes", TensorProto.INT64, [len(ins)])],
    )
    return ort_session(helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", 20)]))


def sklearn_routes(entry: BenchModel, trained, df, sizes):
    """The do-it-yourself peer: a scikit-learn pipeline, and the same converted by skl2onnx."""
    fit = df[df[entry.split_column].isin(entry.fit)]
    test = df[df[entry.split_column].isin(entry.test)]
    est, sess = sklearn_peer.fit_and_convert(entry.sklearn, trained, fit)
    x_test = sklearn_peer.frame(trained, test, "test rows")
    feeds = {n: sklearn_peer.feed(x_test.iloc[:n]) for n in sizes}
    frames = {n: x_test.iloc[:n] for n in sizes}
    sklearn_peer.check(est, sess, frames[sizes[-1]])
    return (
        {n: (lambda f=frames[n]: est.predict_proba(f)) for n in sizes},
        {n: (lambda f=feeds[n]: sess.run(None, f)) for n in sizes},
    )


def node_routes(model_path: Path, columns, sizes, runs: int, notes: dict) -> dict:
    """predict.js --repeat in onnxruntime-node and onnxruntime-web (wasm): medians measured in Node."""
    node = shutil.which("node")
    found = {}
    for route, flags, package in (("node", [], "onnxruntime-node"), ("wasm", ["--wasm"], "onnxruntime-web")):
        if node is None or not (NODE_DIR / "node_modules" / package).is_dir():
            notes[route] = (
                "node not found" if node is None else f"{package} not installed: sh examples/edge/node/install.sh"
            )
            continue
        found[route] = {}
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                rows = Path(tmp) / "rows.json"
                rows.write_text(
                    json.dumps(
                        {
                            c: [None if isinstance(v, float) and np.isnan(v) else v for v in col[:n].tolist()]
                            for c, col in columns.items()
                        }
                    )
                )
                proc = subprocess.run(
                    [node, str(NODE_DIR / "predict.js"), str(model_path), str(rows), *flags, "--repeat", str(runs)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
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
