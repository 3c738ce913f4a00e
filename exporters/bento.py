"""Put a tk model into the BentoML model store: `tk export runs/churn --bento churn`.

The stored model is a folder with the model's own files, unchanged:
`model.onnx` (everything the service needs) plus `manifest.json`,
`config.yaml` and `training_stats.json` when the model directory has them, for
whoever inspects the store. Its BentoML metadata repeats what the ONNX file
says about itself (inputs, outputs, classes, metrics, tk version) and the
file's sha256; the label `tk=model` is how `serving.service` finds the newest
tk model when `TK_BENTO_MODEL` is not set.

Only bentoml, onnxruntime and the standard library: no torch.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from toolkit.errors import TkError

KEEP = ("manifest.json", "config.yaml", "training_stats.json", "features.json")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")


def _onnx_path(model: Path) -> Path:
    path = model / "model.onnx" if model.is_dir() else model
    if not path.exists():
        raise TkError(f"{model}: no model.onnx (train with `tk train` or write one with `tk export --onnx`)")
    return path


def metadata_of(onnx_path: Path) -> dict:
    """The model store metadata: what the ONNX file says about itself, plus its sha256."""
    from toolkit.runtime import Predictor

    p = Predictor(onnx_path, threads=1, device="cpu")
    meta = p.metadata
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    return {
        "format": "tk-onnx",
        "tk_version": meta.get("tk.version"),
        "inputs": {c: "number" if t == "tensor(float)" else "string" for c, t in p.inputs.items()},
        "outputs": list(p.outputs),
        "classes": p.classes,
        "metrics": meta.get("tk.metrics", {}),
        "sha256": digest,
    }


def export_bento(model: str | Path, name: str) -> str:
    """Store `model` (a model directory or .onnx file) as BentoML model `name`; returns the tag."""
    import bentoml

    if not _NAME.match(name or ""):
        raise TkError(f"--bento {name!r}: a BentoML model name is lowercase letters, digits, '.', '_', '-' "
                      "and starts and ends with a letter or digit")
    model = Path(model)
    onnx_path = _onnx_path(model)
    metadata = metadata_of(onnx_path)
    with bentoml.models.create(name, labels={"tk": "model"}, metadata=metadata) as stored:
        target = Path(stored.path)
        shutil.copyfile(onnx_path, target / "model.onnx")
        for extra in KEEP:
            src = onnx_path.parent / extra
            if src.is_file():
                shutil.copyfile(src, target / extra)
    return str(stored.tag)
