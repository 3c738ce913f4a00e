"""Ludwig in the peers benchmark: a config equivalent to tk's, trained in bench/.venv-ludwig.

    r = run(prep, workdir, timeout, latency_runs)   # the result row; r["model_dir"] for `ludwig serve`

The Ludwig config mirrors the tk config the dataset is best served by (the example's config where there
is one, else `tk init-config`'s default): the same input types, the concat combiner with the same number of layers,
width and dropout, and the same epochs, early stopping, batch size, learning rate and validation
metric. Text: Ludwig's `embed` encoder (a bag of word embeddings, mean-pooled) with tk's width and
max length. Ludwig trains on `train`, early-stops on `validation`, predicts `test`; the metrics are
computed here from its test predictions, as for every system (rows.metrics).
Missing venv or failed install: the row carries the reason (setup_ludwig.sh's log tail).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT
from bench.peers.children import run_child
from bench.peers.rows import metrics

VENV = ROOT / "bench" / ".venv-ludwig"
PYTHON = VENV / "bin" / "python"
TK_DEFAULTS = {
    "epochs": 50,
    "early_stop": 8,
    "batch_size": 128,
    "learning_rate": 2e-3,
}  # toolkit.config.schema.TrainerConfig
TK_COMBINER = {"num_layers": 2, "hidden_size": 64, "dropout": 0.1}  # toolkit.config.schema combiner


def ludwig_config(prep, quick: bool = False) -> dict[str, Any]:
    """The Ludwig config equivalent to prep's example (else default) tk config."""
    import pandas as pd

    tk = yaml.safe_load(prep.configs.get("example", prep.configs["default"]).read_text())
    df = pd.read_csv(prep.csv, usecols=[c for c, t in prep.columns.items() if t == "binary"] or None, nrows=5000)
    inputs = []
    for f in tk["input_features"]:
        feat: dict[str, Any] = {"name": f["name"], "type": f["type"]}
        if f["type"] == "binary":
            values = sorted(str(v) for v in df[f["name"]].dropna().unique())
            feat["preprocessing"] = {"fallback_true_label": values[-1]}
        elif f["type"] == "text":
            enc, pre = f.get("encoder", {}), f.get("preprocessing", {})
            feat["preprocessing"] = {"tokenizer": "space_punct", "max_sequence_length": pre.get("max_length", 256)}
            feat["encoder"] = {
                "type": "embed",
                "embedding_size": enc.get("dim", 64),
                "reduce_output": "mean",
                "dropout": enc.get("dropout", 0.0),
            }
        inputs.append(feat)
    outputs = []
    for o in prep.outputs:
        feat = {"name": o.name, "type": o.type}
        if o.type == "binary":
            feat["preprocessing"] = {"fallback_true_label": o.positive}
        outputs.append(feat)
    comb = {**TK_COMBINER, **tk.get("combiner", {})}
    trainer = {**TK_DEFAULTS, **tk.get("trainer", {})}
    config: dict[str, Any] = {
        "input_features": inputs,
        "output_features": outputs,
        "combiner": {
            "type": "concat",
            "num_fc_layers": comb["num_layers"],
            "output_size": comb["hidden_size"],
            "dropout": comb["dropout"],
        },
        "trainer": {
            "epochs": trainer["epochs"],
            "early_stop": trainer["early_stop"],
            "batch_size": trainer["batch_size"],
            "learning_rate": trainer["learning_rate"],
        },
    }
    if trainer.get("validation_metric"):
        field, _, metric = trainer["validation_metric"].partition(".")
        config["trainer"].update(validation_field=field, validation_metric=metric)
    return config


def installed() -> tuple[str | None, str | None]:
    """(Ludwig version, None) or (None, why not: the setup log's last error)."""
    version = VENV / "LUDWIG_VERSION"
    if PYTHON.exists() and version.exists():
        return version.read_text().strip(), None
    why = "bench/.venv-ludwig missing: run bash bench/peers/setup_ludwig.sh"
    failed = VENV / "LUDWIG_FAILED"
    if failed.exists():
        why = failed.read_text().strip()
    return None, why


def run(
    prep,
    workdir: Path,
    timeout: float,
    latency_runs: int,
    budget_s: float = 4.0,
    quick: bool = False,
    threads: int | None = None,
    setup_log: Path | None = None,
) -> dict[str, Any]:
    version, why = installed()
    result: dict[str, Any] = {"system": f"Ludwig {version or ''}".strip(), "family": "ludwig", "config": "equivalent"}
    if why:
        if setup_log and setup_log.exists():
            errors = [ln for ln in setup_log.read_text(errors="replace").splitlines() if "ERROR" in ln]
            why += ("; pip: " + errors[-1][:400]) if errors else ""
        result["error"] = f"not installed: {why}"
        return result
    config = ludwig_config(prep, quick)
    out = workdir / "ludwig"
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "csv": str(prep.csv),
        "config": config,
        "outputs": [vars(o) for o in prep.outputs],
        "out": str(out),
        "latency_runs": latency_runs,
        "budget_s": budget_s,
        "threads": threads,
    }
    spec_path = workdir / "ludwig.json"
    spec_path.write_text(json.dumps(spec))
    result["ludwig_config"] = config
    r = run_child([str(PYTHON), str(ROOT / "bench" / "peers" / "ludwig_runner.py"), str(spec_path)], timeout)
    result.update(train_wall_s=r["train_wall_s"], peak_rss_mb=r["peak_rss_mb"])
    if "error" in r or not r["result"]:
        result["error"] = r.get("error", "no result line")
        return result
    res = r["result"]
    result["metrics"] = metrics(prep.outputs, prep.frame("test"), res["predictions"])
    result.update(latency=res["latency"], model_dir=res["model_dir"], epochs=res["epochs"], versions=res["versions"])
    return result
