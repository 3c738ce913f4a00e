"""tk in the peers benchmark: `tk train` as its own process, then predictions through model.onnx.

    r = run(prep, "example", workdir, timeout=600, latency_runs=300)
    r["metrics"], r["train_wall_s"], r["latency"]["predictor"]["1"]["median_ms"], r["model_dir"]

Train wall time and peak RSS are those of the `tk train` process (it also writes model.onnx:
tk's export is part of its training run). Test metrics are computed from model.onnx's answers on
the test rows (common.metrics, as for every system). Latency, 1 and 1,000 rows, median:
- `predictor`: toolkit.runtime.Predictor.predict(records) → records (what an application holds:
  a list of dicts, missing → None), onnxruntime 1 thread;
- `onnx_session`: the same model.onnx, session.run on numpy columns prepared beforehand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.peers.common import json_row, metrics, run_child, tile_rows, time_median
from bench.peers.datasets import TK, Prepared


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


def run(prep: Prepared, config: str, workdir: Path, timeout: float, latency_runs: int,
        budget_s: float = 4.0) -> dict[str, Any]:
    from toolkit.runtime import Predictor

    model_dir = workdir / f"tk-{config}"
    cmd = [str(TK), "train", str(prep.configs[config]), "--dataset", str(prep.csv), "--output", str(model_dir), "-q"]
    r = run_child(cmd, timeout)
    result: dict[str, Any] = {"system": f"tk ({config} config)", "family": "tk", "config": config,
                              "train_wall_s": r["train_wall_s"], "peak_rss_mb": r["peak_rss_mb"]}
    if "error" in r:
        result["error"] = r["error"]
        return result
    stats = json.loads((model_dir / "training_stats.json").read_text())
    epochs = stats.get("epochs")
    result.update(epochs=len(epochs) if isinstance(epochs, list) else epochs, best_epoch=stats.get("best_epoch"),
                  model_dir=str(model_dir), onnx_bytes=(model_dir / "model.onnx").stat().st_size)

    test = prep.frame("test")
    p = Predictor(model_dir, threads=1)
    inputs = test[list(p.inputs)]
    result["metrics"] = metrics(prep.outputs, test, predictions(p.predict(inputs), prep.outputs))
    lat: dict[str, dict[str, Any]] = {"predictor": {}, "onnx_session": {}}
    for n in (1, 1000):
        rows = tile_rows(inputs, n)
        records = [json_row(r) for _, r in rows.iterrows()]
        feed = p._feed(p._columns(rows)[0])  # the Predictor's own conversion, done once, outside the timing
        lat["predictor"][str(n)] = time_median(lambda: p.predict(records), latency_runs, budget_s)
        lat["onnx_session"][str(n)] = time_median(lambda: p.session.run(None, feed), latency_runs, budget_s)
    result["latency"] = lat
    return result
