"""tk in the peers benchmark: `tk train` as its own process, then predictions through model.onnx.

    r = run(prep, "example", workdir, timeout=600, latency_runs=300)
    r["metrics"], r["train_wall_s"], r["latency"]["predictor"]["1"]["median_ms"], r["model_dir"]

Train wall time and peak RSS are those of the `tk train` process (it also writes model.onnx:
tk's export is part of its training run). Test metrics are computed from model.onnx's answers on
the test rows (rows.metrics, as for every system). Latency, 1 and 1,000 rows, median:
- `predictor`: toolkit.runtime.predictor.Predictor.predict(records) → records (what an application holds:
  a list of dicts, missing → None), onnxruntime 1 thread;
- `onnx_session`: the same model.onnx, session.run on numpy columns prepared beforehand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import time_median
from bench.peers.children import run_child
from bench.peers.datasets import TK, Prepared
from bench.peers.rows import json_row, metrics, tile_rows


def predictions(frame, outputs) -> dict[str, Any]:
    """Predictor DataFrame → {output: P(positive) | label | value}."""
    out = {}
    for o in outputs:
        if o.type == "binary":
            out[o.name] = frame[f"{o.name}::probability::{o.positive}"].to_numpy()
        elif o.type == "category":
            out[o.name] = frame[f"{o.name}::label"].to_numpy()
        else:
            out[o.name] = frame[f"{o.name}::value"].to_numpy()
    return out


def session_feed(rows, inputs: dict[str, str]) -> dict[str, Any]:
    """model.onnx's feed for a DataFrame: [N] float32 for float inputs (missing → NaN), else str (missing → "").

    inputs: the Predictor's {input: onnx type}, e.g. "tensor(float)".
    """
    import numpy as np

    return {
        c: (
            rows[c].to_numpy(np.float32, na_value=np.nan)
            if t == "tensor(float)"
            else rows[c].fillna("").astype(str).to_numpy(object)
        )
        for c, t in inputs.items()
    }


def run(
    prep: Prepared, config: str, workdir: Path, timeout: float, latency_runs: int, budget_s: float = 4.0
) -> dict[str, Any]:
    from toolkit.runtime.predictor import Predictor

    model_dir = workdir / f"tk-{config}"
    cmd = [str(TK), "train", str(prep.configs[config]), "--dataset", str(prep.csv), "--output", str(model_dir), "-q"]
    r = run_child(cmd, timeout)
    result: dict[str, Any] = {
        "system": f"tk ({config} config)",
        "family": "tk",
        "config": config,
        "train_wall_s": r["train_wall_s"],
        "peak_rss_mb": r["peak_rss_mb"],
    }
    if "error" in r:
        result["error"] = r["error"]
        return result
    stats = json.loads((model_dir / "training_stats.json").read_text())
    epochs = stats.get("epochs")
    result.update(
        epochs=len(epochs) if isinstance(epochs, list) else epochs,
        best_epoch=stats.get("best_epoch"),
        model_dir=str(model_dir),
        onnx_bytes=(model_dir / "model.onnx").stat().st_size,
    )

    test = prep.frame("test")
    p = Predictor(model_dir, threads=1)
    inputs = test[list(p.inputs)]
    result["metrics"] = metrics(prep.outputs, test, predictions(p.predict(inputs), prep.outputs))
    lat: dict[str, dict[str, Any]] = {"predictor": {}, "onnx_session": {}}
    for n in (1, 1000):
        rows = tile_rows(inputs, n)
        records = [json_row(r) for _, r in rows.iterrows()]
        feed = session_feed(rows, p.inputs)  # converted once, outside the timing
        lat["predictor"][str(n)] = time_median(lambda: p.predict(records), latency_runs, budget_s)
        lat["onnx_session"][str(n)] = time_median(lambda: p.session.run(None, feed), latency_runs, budget_s)
    result["latency"] = lat
    return result
