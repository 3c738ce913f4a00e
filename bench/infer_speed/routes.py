"""The routes bench.infer_speed times: {route: {rows: zero-argument callable}}, checked against each other.

build_routes trains (or reuses) the churn model of bench.latency, tiles its test rows to the largest
size and builds every route; a route that cannot run here is named in `notes` instead.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.common import ROOT, ort_session
from bench.latency import sklearn_peer
from bench.latency.models import MODELS, get_model, onehot_logreg

SIZES = (1, 1_000, 65_536)


def load_before(spec: str):
    """The Predictor class of an older toolkit/runtime/predictor.py ('git:REV' or a file path), or None."""
    if spec.startswith("git:"):
        proc = subprocess.run(
            ["git", "show", f"{spec[4:]}:toolkit/runtime/predictor.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            return None, f"git show {spec[4:]}:toolkit/runtime/predictor.py failed: {proc.stderr.strip()[:120]}"
        source = proc.stdout
    else:
        source = Path(spec).read_text()
    tmp = Path(tempfile.mkdtemp()) / "runtime_before.py"
    tmp.write_text(source)
    module_spec = importlib.util.spec_from_file_location("tk_runtime_before", tmp)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.Predictor, None


def build_routes(before_spec: str, notes: dict) -> dict:
    """{route: {rows: zero-argument callable}}, checked against each other."""
    import pandas as pd

    from toolkit.features import columns as prepare
    from toolkit.runtime.predictor import Predictor

    entry = MODELS["churn"]
    trained, model_path = get_model("churn", entry, retrain=False)
    df = pd.read_csv(ROOT / entry.data)
    test = df[df["split"] == "test"]
    reps = -(-max(SIZES) // len(test))
    tiled = pd.concat([test] * reps, ignore_index=True).iloc[: max(SIZES)]
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
    out = dict(
        zip([o.name for o in session.get_outputs()], session.run(None, {c: v[:1_000] for c, v in columns.items()}))
    )
    name = trained.outputs[0].config.name
    ort_records = [
        {name: {"label": lab, "probabilities": dict(zip(predictor.classes[name], p))}}
        for lab, p in zip(out[f"{name}::label"].tolist(), out[f"{name}::probabilities"].tolist())
    ]
    check("tk_ort", ort_records, want)
    try:
        est, skl = sklearn_peer.fit_and_convert(onehot_logreg, trained, df[df["split"].isin(["train", "validation"])])
        x = sklearn_peer.frame(trained, tiled, "test rows")
        sklearn_peer.check(est, skl, x)
        skl_feeds = {n: head(sklearn_peer.feed(x), n) for n in SIZES}
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
