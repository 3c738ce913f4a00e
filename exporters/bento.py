"""Put a tk model into the BentoML model store: `tk export runs/churn --bento churn`.

The stored model is a folder with the model's own files, unchanged:
`model.onnx` (everything the service needs) plus `manifest.json`,
`config.yaml`, `training_stats.json` and `features.json` when the model
directory has them, for whoever inspects the store. A model directory is
verified as `tk predict` verifies it (toolkit.runtime.model_dir.read_model_dir: no
symlinks or special files, sizes and sha256 as the manifest says), and the
bytes verified are the bytes stored. Its BentoML metadata repeats what the
ONNX file says about itself (inputs, outputs, classes, metrics, tk version)
and the file's sha256; the label `tk=model` is how `serving.service` finds
the newest tk model when `TK_BENTO_MODEL` is not set.

Only bentoml, onnxruntime and the standard library: no torch.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from toolkit.errors import TkError
from toolkit.runtime import model_dir as artifact

ONNX = "model.onnx"
KEEP = ("config.yaml", "training_stats.json", "features.json")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")


def model_files(model: Path) -> dict[str, bytes]:
    """name → verified bytes to store: model.onnx, and the manifest and KEEP files of a model directory.

    `model`: a model directory, its model.onnx (verified through its directory), or a bare .onnx file.
    """
    model = Path(model)
    folder = (
        model
        if model.is_dir()
        else model.parent
        if model.name == ONNX and (model.parent / artifact.MANIFEST).exists()
        else None
    )
    if folder is None:
        try:
            return {ONNX: artifact.read_regular(model, follow_links=True)}
        except FileNotFoundError:
            raise TkError(f"{model}: no such file (give a model directory or an .onnx file)") from None
    listed = artifact.manifest_files(folder)
    if ONNX not in listed:
        artifact.read_manifest(folder)  # a damaged or missing manifest says so first
        raise TkError(f"{folder}: no model.onnx (train with `tk train` or write one with `tk export --onnx`)")
    files = artifact.read_model_dir(folder, [ONNX, *(n for n in KEEP if n in listed)])
    files[artifact.MANIFEST] = artifact.read_regular(folder / artifact.MANIFEST, limit=artifact.MAX_MANIFEST_BYTES)
    return files


def metadata_of(onnx: Path | bytes) -> dict:
    """The model store metadata: what the ONNX file says about itself, plus its sha256."""
    from toolkit.runtime.predictor import Predictor

    data = onnx if isinstance(onnx, bytes) else artifact.read_regular(Path(onnx), follow_links=True)
    p = Predictor(data, threads=1, device="cpu")
    meta = p.metadata
    return {
        "format": "tk-onnx",
        "tk_version": meta.get("tk.version"),
        "inputs": {c: "number" if t == "tensor(float)" else "string" for c, t in p.inputs.items()},
        "outputs": list(p.outputs),
        "classes": p.classes,
        "metrics": meta.get("tk.metrics", {}),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def export_bento(model: str | Path, name: str) -> str:
    """Store `model` (a model directory or .onnx file) as BentoML model `name`; returns the tag."""
    if not _NAME.match(name or ""):
        raise TkError(
            f"--bento {name!r}: a BentoML model name is lowercase letters, digits, '.', '_', '-' "
            "and starts and ends with a letter or digit"
        )
    files = model_files(Path(model))
    metadata = metadata_of(files[ONNX])
    import bentoml

    with bentoml.models.create(name, labels={"tk": "model"}, metadata=metadata) as stored:
        target = Path(stored.path)
        for file_name, data in files.items():
            (target / file_name).write_bytes(data)  # a fresh folder of the store's, removed on failure
    return str(stored.tag)
