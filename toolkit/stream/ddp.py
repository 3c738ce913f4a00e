"""Several training processes with torch.distributed: launching and rank logic.

`tk train ... --nproc N` runs torch's elastic launcher (what `torchrun` runs)
on this machine, `--standalone`, with N workers of `python -m toolkit.cli train
...`. A worker finds RANK / WORLD_SIZE / LOCAL_RANK in its environment (set by
torchrun, here or on several machines), joins the process group (gloo on CPU,
nccl on CUDA), and trains its shard of the data under DistributedDataParallel.

Multi-node, run on every machine (same files at the same paths, or a shared disk):
    torchrun --nnodes 2 --node-rank K --nproc-per-node 1 --rdzv-backend c10d \\
        --rdzv-endpoint host0:29500 -m toolkit.cli train cfg.yaml -d 'data/*.parquet' -o runs/big
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from toolkit.errors import TkError


@dataclass
class Context:
    rank: int
    world: int
    local_rank: int
    device: "object"  # torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def world_size() -> int:
    """WORLD_SIZE from the environment (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device) -> Context:
    """Join the process group when launched with WORLD_SIZE > 1; `device` is the resolved torch.device."""
    import torch

    world = world_size()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank, world, local, device)


def gather(ctx: Context, obj) -> list:
    """Every rank's `obj`, in rank order, on every rank (pickled over the process group, never to disk)."""
    if ctx.world == 1:
        return [obj]
    import torch.distributed as dist

    out = [None] * ctx.world
    dist.all_gather_object(out, obj)
    return out


def broadcast(ctx: Context, obj):
    """Rank 0's `obj` on every rank."""
    if ctx.world == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: Context) -> None:
    if ctx.world > 1:
        import torch.distributed as dist

        dist.barrier()


def finish(ctx: Context) -> None:
    if ctx.world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def launch(nproc: int, worker_args: list[str]) -> None:
    """Run `python -m toolkit.cli <worker_args>` in `nproc` workers through torch.distributed.run.

    A worker's TkError is printed by that worker (one line); here it becomes
    one more line naming the failed rank.
    """
    if nproc < 1:
        raise TkError(f"--nproc: must be >= 1, got {nproc}")
    import logging

    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for name in ("torch.distributed.elastic", "torch.distributed.run"):
        logging.getLogger(name).setLevel(logging.ERROR)
    args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", "toolkit.cli", *worker_args])
    try:
        run(args)
    except ChildFailedError as e:
        ranks = sorted(e.failures)
        first = e.failures[ranks[0]]
        raise TkError(f"--nproc {nproc}: worker rank {first.rank} exited with code {first.exitcode}"
                      f"{' (and ' + str(len(ranks) - 1) + ' more)' if len(ranks) > 1 else ''}; "
                      "its error is printed above") from None
