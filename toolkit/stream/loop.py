"""The training loop over a stream, on one process or several (DistributedDataParallel).

The same loop as toolkit.trainer.fit (AdamW, warm-up then cosine or plateau,
early stopping, best weights, a checkpoint per epoch), except that:
  - batches come from `shuffled_batches` over this rank's chunks, the chunk
    order and the buffer seeded by (seed, epoch, rank), so a resumed epoch
    replays the same batches;
  - with several ranks the model is wrapped in DDP (gradients averaged), each
    rank takes batch_size / world rows per step (the effective batch stays
    batch_size), and the DDP Join context lets ranks with fewer rows finish
    their epoch without hanging the others;
  - validation predictions of every rank are gathered, and metrics computed on
    the whole split with sklearn, and rank 0's values sent to every rank (so
    early stopping and the plateau schedule agree); only rank 0 logs and
    writes checkpoints;
  - on --resume rank 0 reads the checkpoint and sends it to every rank, which
    all restore it before DDP is built; torch's RNG is reseeded per epoch from
    (seed, epoch, rank), so the resumed run ends with the uninterrupted run's
    weights.
The optimizer, schedules, restore and per-epoch bookkeeping are toolkit.epochs' (shared with toolkit.trainer).
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch

from toolkit import log
from toolkit.stream import ddp
from toolkit.stream.dataset import shuffled_batches
from toolkit.epochs import (History, end_epoch, finish, make_optimizer_and_schedules, patience_ran_out, restore,
                            watched_value)
from toolkit.trainer import predict_raw, score_predictions, total_loss


def predictions(model, split, ctx, raw_rows: int = 0):
    """(decoder outputs per output, targets per output, first `raw_rows` raw input rows) of a split, all ranks."""
    preds: list[list[np.ndarray]] = []
    ys: list[list[np.ndarray]] = []
    raw: dict[str, list] = {}
    kept = 0
    for x, y, cols in split.tensors(raw=True):
        preds.append(predict_raw(model, [t.to(ctx.device) for t in x]))
        ys.append([t.numpy() for t in y])
        if kept < raw_rows:
            for c, v in cols.items():
                raw.setdefault(c, []).append(v[:raw_rows - kept])
            kept += min(len(y[0]), raw_rows - kept)
    mine = ([np.concatenate(p) for p in zip(*preds)] if preds else None,
            [np.concatenate(t) for t in zip(*ys)] if ys else None)
    parts = [p for p in ddp.gather(ctx, mine) if p[0] is not None]
    if not parts:
        return None, None, {}
    out_preds = [np.concatenate(p) for p in zip(*(p[0] for p in parts))]
    out_ys = [np.concatenate(t) for t in zip(*(p[1] for p in parts))]
    return out_preds, out_ys, {c: np.concatenate(v) for c, v in raw.items()}


def evaluate_stream(model, outputs, losses, split, ctx, metrics_for=None) -> dict[str, dict[str, float]]:
    """toolkit.trainer.evaluate over a StreamSplit, every rank's rows together."""
    preds, ys, _ = predictions(model, split, ctx)
    if preds is None:
        return {f.config.name: {"loss": math.nan} for f in outputs}
    return score_predictions(outputs, losses, preds, ys, metrics_for)


def _load_on_rank0(ctx, checkpoint_dir, config_fp: str):
    """Rank 0's checkpoint (checkpoint.load's dict, or None), on every rank: the ranks need not share a disk."""
    from toolkit import checkpoint

    return ddp.on_rank0(ctx, lambda: checkpoint.load(checkpoint_dir, config_fp))


def fit_stream(model, outputs, train, val, cfg, ctx, train_rows: int, checkpoint_dir=None, resume: bool = False,
               config_fp: str = "", on_epoch=None) -> History:
    """Train `model` in place over StreamSplits `train` and `val`; on return it holds the best weights.

    Every rank restores the same checkpoint (rank 0 reads it and sends it) before the model is
    wrapped in DDP; only rank 0 writes checkpoints. Each epoch reseeds torch's RNG (dropout) from
    (seed, epoch, rank), so a resumed epoch replays the same batches and the same dropout masks.
    """
    tc = cfg.trainer
    model.to(ctx.device)
    losses = [f.loss() for f in outputs]
    for i, loss_fn in enumerate(losses):
        if isinstance(loss_fn, torch.nn.Module):
            losses[i] = loss_fn.to(ctx.device)
    watch_output, watch_metric = cfg.validation_metric()
    if val is None:
        if ctx.main:
            log.warn("no validation rows: early stopping and best-epoch selection use the training rows")
        val = train

    batch = max(2, tc.batch_size // ctx.world)
    opt = make_optimizer_and_schedules(model, cfg, max(1, math.ceil(train_rows / tc.batch_size)))
    generator = torch.Generator().manual_seed(tc.seed)  # unused by the stream; kept for the checkpoint format
    ckpt = _load_on_rank0(ctx, checkpoint_dir, config_fp) if resume and checkpoint_dir is not None else None
    progress = restore(ckpt, checkpoint_dir, model, opt, generator, cfg, resume=resume, main=ctx.main)
    net = model
    if ctx.world > 1:  # after the restore: DDP sends rank 0's weights to the others when it is built
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    start = time.perf_counter()
    for epoch in range(progress.first_epoch, tc.epochs + 1):
        if patience_ran_out(progress, cfg):
            break
        net.train()
        seed = (tc.seed * 1_000_003 + epoch) * 101 + ctx.rank
        torch.manual_seed(seed)
        chunks = ((x, y) for x, y in train.tensors(order_seed=seed))
        loss_sum, seen = 0.0, 0
        join = contextlib.nullcontext()
        if ctx.world > 1:
            from torch.distributed.algorithms.join import Join

            join = Join([net])
        with join:
            for bx, by in shuffled_batches(chunks, batch, tc.shuffle_buffer, seed):
                bx, by = [t.to(ctx.device) for t in bx], [t.to(ctx.device) for t in by]
                loss, _ = total_loss(outputs, losses, net(*bx), by)
                opt.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if tc.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                opt.step()
                loss_sum += float(loss.detach()) * len(by[0])
                seen += len(by[0])
        totals = np.sum(ddp.gather(ctx, (loss_sum, seen)), axis=0)
        watched = set() if watch_metric == "loss" else {watch_output}
        val_metrics = evaluate_stream(model, outputs, losses, val, ctx, metrics_for=watched)
        val_metrics = ddp.broadcast(ctx, val_metrics)  # rank 0's numbers decide, on every rank
        value = watched_value(val_metrics, outputs, cfg)
        opt.end_epoch(value)
        record = {"epoch": epoch, "train_loss": float(totals[0] / max(totals[1], 1)),
                  "validation": val_metrics, "lr": opt.lr,
                  "seconds": time.perf_counter() - start, "rows": int(totals[1])}
        end_epoch(progress, record, value, model, cfg, opt, generator,
                  checkpoint_dir if ctx.main else None, config_fp)
        if on_epoch is not None:
            on_epoch(record)
        if patience_ran_out(progress, cfg, announce=True):
            break
    return finish(model, progress, start)
