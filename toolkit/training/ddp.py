"""Several training processes with torch.distributed: launching and rank logic.

`tk train ... --nproc N` runs torch's elastic launcher (what `torchrun` runs)
on this machine, `--standalone`, with N workers of `python -m toolkit.cli.main train
...`. A worker finds RANK / WORLD_SIZE / LOCAL_RANK in its environment (set by
torchrun, here or on several machines), joins the process group (gloo on CPU,
nccl on CUDA), and trains its shard of the data under DistributedDataParallel.

Multi-node, run on every machine (same files at the same paths, or a shared disk):
    torchrun --nnodes 2 --node-rank K --nproc-per-node 1 --rdzv-backend c10d \\
        --rdzv-endpoint host0:29500 -m toolkit.cli.main train cfg.yaml -d 'data/*.parquet' -o runs/big
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


def die_with_parent() -> None:
    """Have Linux send this process SIGTERM when its parent (the launcher) dies, even by SIGKILL.

    torch's launcher starts each worker in a session of its own, so a killed
    launcher would otherwise leave its workers training (and writing) on.
    Elsewhere a no-op.
    """
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the launcher died before prctl: nobody will send the signal
        os.kill(os.getpid(), signal.SIGTERM)


def setup(device) -> Context:
    """Join the process group when launched with WORLD_SIZE > 1; `device` is the resolved torch.device."""
    import torch

    world = world_size()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        die_with_parent()

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


def on_rank0(ctx: Context, fn):
    """`fn()` run on rank 0, its result on every rank; a TkError there is raised on rank 0 (which prints
    it) and ends the other ranks with exit code 2, instead of leaving them waiting."""
    result, message = None, None
    if ctx.main:
        try:
            result = fn()
        except TkError as e:
            message = str(e)
    message, result = broadcast(ctx, (message, result))
    if message is not None:
        raise TkError(message) if ctx.main else SystemExit(2)
    return result


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
    """Run `python -m toolkit.cli.main <worker_args>` in `nproc` workers through torch.distributed.run.

    A worker's TkError is printed by that worker (one line); here it becomes
    one more line naming the failed rank. SIGINT / SIGTERM / SIGHUP to the
    launcher stop the workers (torch's agent does) and end in one line with
    exit code 128 + the signal number; a worker dies with a killed launcher
    (die_with_parent).
    """
    if nproc < 1:
        raise TkError(f"--nproc: must be >= 1, got {nproc}")
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", "toolkit.cli.main", *worker_args])
    # torch's elastic modules set their loggers' levels one by one (LOGLEVEL, default WARNING)
    for name in [*logging.root.manager.loggerDict, "torch.distributed.elastic", "torch.distributed.run"]:
        if name.startswith(("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        run(args)
    except ChildFailedError as e:
        ranks = sorted(e.failures)
        first = e.failures[ranks[0]]
        raise TkError(
            f"--nproc {nproc}: worker rank {first.rank} exited with code {first.exitcode}"
            f"{' (and ' + str(len(ranks) - 1) + ' more)' if len(ranks) > 1 else ''}; "
            "its error is printed above"
        ) from None
    except (SignalException, KeyboardInterrupt) as e:
        import signal

        signum = int(getattr(e, "sigval", signal.SIGINT))
        err = TkError(f"--nproc {nproc}: stopped by {signal.Signals(signum).name}; the workers were stopped")
        err.exit_code = 128 + signum
        raise err from None
