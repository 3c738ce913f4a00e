"""Where training runs: the torch device, and how many CPU threads it uses."""

from __future__ import annotations

import os

from toolkit.errors import TkError


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pick_device(name: str):
    """torch.device for `trainer.device`: cpu, cuda, cuda:N, or auto (the GPU when torch sees one)."""
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TkError(f"trainer.device: {name} was asked for but torch sees no CUDA device; use cpu or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def thread_count(configured: int | None, model) -> int:
    """torch threads: as configured, else 1 for small models (< 1 M parameters), else every CPU.

    A small MLP's steps are too short to gain from intra-op threads, and on a
    busy 2-core machine extra threads made training 5-10x slower.
    """
    if configured:
        return configured
    n_params = sum(p.numel() for p in model.parameters())
    return 1 if n_params < 1_000_000 else cpu_count()
