"""Per-epoch training checkpoints: everything needed to resume bit-for-bit.

    <output>.checkpoint/
      state.safetensors   model weights, best weights, optimizer moments, RNG states
      state.json          epoch, history, scheduler state, config fingerprint

Both files are written atomically (temp file + rename), tensors first and the
JSON last, so a kill at any moment leaves either the previous epoch's
checkpoint or the new one. They are not fsynced (a checkpoint guards against
a killed process, not a power cut; two fsyncs per epoch were 5-10 % of a
small run). The directory is removed once the model directory is written.
Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from toolkit.artifact import atomic_write
from toolkit.errors import TkError

TENSORS, STATE = "state.safetensors", "state.json"


def directory_for(output: Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".checkpoint")


def fingerprint(config_text: str) -> str:
    return hashlib.sha256(config_text.encode()).hexdigest()[:16]


def save(path: Path, *, epoch: int, model, best_state, optimizer, schedulers: dict, generator,
         history: dict, since_best: int, config_fp: str) -> None:
    """Write the checkpoint of the epoch just finished."""
    path.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors |= {f"best.{k}": v.cpu().contiguous() for k, v in best_state.items()}
    opt = optimizer.state_dict()
    for idx, st in opt["state"].items():
        for name, value in st.items():
            tensors[f"optim.{idx}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.generator"] = generator.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    atomic_write(path / TENSORS, _serialize(tensors), durable=False)
    state = {"epoch": epoch, "since_best": since_best, "history": history, "config": config_fp,
             "param_groups": opt["param_groups"],
             "schedulers": {k: s.state_dict()
                            for k, s in schedulers.items() if s is not None}}
    atomic_write(path / STATE, json.dumps(state, default=float).encode(), durable=False)


def _serialize(tensors: dict[str, torch.Tensor]) -> bytes:
    """safetensors bytes; through numpy (the same bytes, ~5x less overhead per tensor) when it can."""
    try:
        arrays = {k: v.numpy() for k, v in tensors.items()}
    except TypeError:  # a dtype numpy lacks (bfloat16)
        return save_tensors(tensors)
    from safetensors.numpy import save as save_arrays

    return save_arrays(arrays)


def load(path: Path, config_fp: str) -> dict | None:
    """The checkpoint at `path`, or None when there is none; refuses one of another config."""
    if not (path / STATE).exists() or not (path / TENSORS).exists():
        return None
    try:
        state = json.loads((path / STATE).read_text())
        tensors = load_tensors((path / TENSORS).read_bytes())
    except (ValueError, OSError) as e:
        raise TkError(f"{path}: damaged checkpoint ({e}); delete it to start over") from None
    if state.get("config") != config_fp:
        raise TkError(f"{path}: the checkpoint belongs to another config or dataset; "
                      "delete it or train without --resume")
    return {"state": state, "tensors": tensors}


def restore(ckpt: dict, *, model, optimizer, schedulers: dict, generator) -> tuple[dict, dict, int, int]:
    """Load a checkpoint into the live objects; returns (best_state, history, since_best, epoch)."""
    state, tensors = ckpt["state"], ckpt["tensors"]
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    opt_state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            opt_state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    for name, sched in schedulers.items():
        if sched is not None and name in state["schedulers"]:
            sched.load_state_dict(state["schedulers"][name])
    generator.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    return best, state["history"], state["since_best"], state["epoch"]


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
