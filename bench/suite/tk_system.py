"""tk in the suite: `tk train` then `tk predict`, each its own process, in a chosen source tree.

    r = run_tk(run, cfg, tree, timeout)   # run: runner.Run (paths, task, target); cfg: the config dict

The config is the YAML `tk init-config` wrote for the whole data set (without the split column),
with `preprocessing.split` set to `{type: fixed, column: split}` and, for candidates, the
overrides applied (overrides.py). tk trains on `train`, early-stops on `validation` and is
scored on `test` from model.onnx's answers (`tk predict`). Wall times are those of the two
processes (imports, data reading, training, ONNX export and its parity check for train;
start-up, reading and onnxruntime for predict). A failure or a timeout is recorded, not raised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.suite.scoring import score


def call(tree: Path, args: list[str], timeout: float) -> tuple[float, str | None]:
    """Run `tk <args>` from `tree` under nice; (wall seconds, error or None)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            ["nice", sys.executable, "-m", "toolkit.cli.main", *args],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - t0, f"timeout after {timeout:.0f} s: tk {args[0]}"
    wall = time.perf_counter() - t0
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return wall, f"tk {args[0]} exit {proc.returncode}: " + " | ".join(tail)[-600:]
    return wall, None


def init_config(tree: Path, csv: Path, target: str, dest: Path, timeout: float = 300) -> None:
    """`tk init-config csv --target target --output dest`; raises with tk's message on failure."""
    _, error = call(tree, ["init-config", str(csv), "--target", target, "--output", str(dest)], timeout)
    if error:
        raise RuntimeError(error)


def _predictions(pred_csv: Path, target: str, task: str) -> dict[str, Any]:
    """tk predict's CSV → {"proba", "classes"} or {"pred"}."""
    import pandas as pd

    df = pd.read_csv(pred_csv, keep_default_na=False)
    if task == "regression":
        return {"pred": df[f"{target}::value"].astype(float).to_numpy()}
    prefix = f"{target}::probability::"
    cols = [c for c in df.columns if c.startswith(prefix)]
    return {"proba": df[cols].astype(float).to_numpy(), "classes": [c[len(prefix) :] for c in cols]}


def run_tk(run, cfg: dict, tree: Path, timeout: float) -> dict[str, Any]:
    """Train and score tk on one split; the result dict (metrics, times, epochs) or an `error`."""
    import pandas as pd
    import yaml

    run.dir.mkdir(parents=True, exist_ok=True)
    cfg_path = run.dir / f"{run.label}.yaml"
    model = run.dir / f"{run.label}-model"
    preds = run.dir / f"{run.label}-pred.csv"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    result: dict[str, Any] = {}
    train_s, error = call(
        tree, ["train", str(cfg_path), "--dataset", str(run.csv), "--output", str(model), "-q"], timeout
    )
    result["train_s"] = round(train_s, 3)
    if error:
        return {**result, "error": error}
    stats = json.loads((model / "training_stats.json").read_text())
    epochs = stats.get("epochs")
    result.update(epochs=len(epochs) if isinstance(epochs, list) else epochs, best_epoch=stats.get("best_epoch"))
    predict_s, error = call(
        tree, ["predict", str(model), "--dataset", str(run.test_csv), "--output", str(preds)], timeout
    )
    result["predict_s"] = round(predict_s, 3)
    if error:
        return {**result, "error": error}
    y = pd.read_csv(run.test_csv, keep_default_na=False)[run.target]
    result["metrics"] = score(run.task, y, **_predictions(preds, run.target, run.task))
    return result
