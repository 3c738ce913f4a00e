"""Which model the service serves, read and verified once: `locate(settings) -> ModelSource`.

- `TK_MODEL=<model directory>`: its `model.onnx`, verified against the
  directory's manifest (sha256) before onnxruntime sees a byte; a changed
  byte, a missing manifest or a damaged one is refused with one line.
  `TK_MODEL=<file.onnx>`: that bare file, as is (no manifest to check).
- else `TK_BENTO_MODEL=<tag>` from the BentoML model store (put there by
  `tk export DIR --bento NAME`); unset: inside a built bento, the model it
  was built with, else the newest model tk put there. A stored model is
  checked against the sha256 that `tk export --bento` recorded.

The source names the model by its directory or file name, or its store tag:
never by an absolute path (that is what /metadata shows).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.settings import Settings


class ModelSourceError(RuntimeError):
    """The model to serve cannot be found or fails its check: one line naming it."""


@dataclass(frozen=True)
class ModelSource:
    onnx: bytes  # the verified file's bytes: what the Predictors load
    name: str  # directory or file name, or store tag: never an absolute path
    manifest: dict  # the model directory's manifest ({} for a bare .onnx file)
    ref: Any = None  # bentoml.models.BentoModel for a stored model: class scope, so `bentoml build` packs it


def locate(settings: Settings) -> ModelSource:
    if settings.model:
        return _from_path(Path(settings.model).expanduser())
    import bentoml

    tag = settings.bento_model or _bento_model_tag()
    if tag:
        try:
            stored = bentoml.models.get(tag)  # the local store only: no remote look-up
        except bentoml.exceptions.NotFound:
            raise ModelSourceError(
                f"TK_BENTO_MODEL={tag}: not in the BentoML model store ({_store_path()}); "
                f"run `tk export runs/MODEL --bento {tag.split(':')[0]}`"
            ) from None
    else:
        stored = _newest_tk_model()
    folder = Path(stored.path)
    onnx = _read_regular(folder / "model.onnx", f"stored model {stored.tag}")
    want = (stored.info.metadata or {}).get("sha256")
    if want and hashlib.sha256(onnx).hexdigest() != want:
        raise ModelSourceError(
            f"stored model {stored.tag}: model.onnx does not match the sha256 "
            "recorded by `tk export --bento`; export the model again"
        )
    ref = bentoml.models.BentoModel(stored.tag)
    return ModelSource(onnx, str(stored.tag), _read_json(folder / "manifest.json"), ref)


def _from_path(path: Path) -> ModelSource:
    from toolkit.errors import TkError
    from toolkit.runtime import model_dir as artifact

    if path.is_dir():
        try:
            onnx = artifact.read_model_dir(path, ["model.onnx"])["model.onnx"]
        except TkError as e:
            raise ModelSourceError(f"TK_MODEL: {e}") from None
        return ModelSource(onnx, path.resolve().name, artifact.read_manifest(path))  # checked: read once more
    if not path.exists():
        raise ModelSourceError(f"TK_MODEL={path}: no such model directory or .onnx file")
    return ModelSource(_read_regular(path, "TK_MODEL"), path.name, {})


def _read_regular(path: Path, where: str) -> bytes:
    """A regular file's bytes, as toolkit.runtime.model_dir reads model files (a FIFO or a device would hang or fill
    memory); a link the user named is followed but must end in a regular file."""
    from toolkit.errors import TkError
    from toolkit.runtime import model_dir as artifact

    try:
        return artifact.read_regular(path, follow_links=True)
    except TkError as e:
        raise ModelSourceError(f"{where}: {e}") from None
    except OSError as e:
        raise ModelSourceError(f"{where}: cannot read {path.name}: {e.strerror}") from None


def _newest_tk_model():
    import bentoml

    models = [m for m in bentoml.models.list() if m.info.labels.get("tk") == "model"]
    if not models:
        raise ModelSourceError(
            f"no tk model in the BentoML model store ({_store_path()}): run "
            "`tk export runs/MODEL --bento NAME` first, or set TK_MODEL=<model dir>"
        )
    return max(models, key=lambda m: m.info.creation_time)


def _store_path() -> str:
    """The model store's folder as BentoML documents it: $BENTOML_HOME/models (default ~/bentoml)."""
    return os.path.join(os.path.expanduser(os.environ.get("BENTOML_HOME") or "~/bentoml"), "models")


def _bento_model_tag() -> str:
    """Inside a built bento (…/src/serving/model_source.py beside …/bento.yaml): the model it was built with."""
    bento_yaml = Path(__file__).resolve().parents[2] / "bento.yaml"
    if not bento_yaml.is_file():
        return ""
    import yaml

    try:
        info = yaml.safe_load(bento_yaml.read_text()) or {}
        for svc in info.get("services", []):
            if svc.get("name") == "tk" and svc.get("models"):
                return str(svc["models"][0]["tag"])
    except (OSError, ValueError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        pass
    return ""


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
