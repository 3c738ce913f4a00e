"""The training loop: one for in-memory data, streamed data and several processes (DDP).

Read it top to bottom: `fit` builds the optimizer and schedule (AdamW, warm-up
then cosine or plateau), restores a checkpoint on --resume, then each epoch
draws batches from the training split (toolkit.training.batches: a seeded permutation
in memory, a seeded shuffle buffer over chunks when streamed), steps, scores
the validation split, keeps the best weights, writes a checkpoint and stops
early when the watched metric stalls. Same seed and thread count → the same
weights, bit for bit, on CPU.

DDP is a wrapper, as in nanoGPT: with several processes the model is wrapped
in DistributedDataParallel (gradients averaged), the Join context lets ranks
with fewer rows finish their epoch, losses and predictions are gathered, rank
0's validation numbers decide on every rank, and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch

from toolkit.common import log
from toolkit.training import ddp
from toolkit.training.epochs import (
    History,
    LoopState,
    end_epoch,
    finish,
    make_optimizer_and_schedules,
    patience_ran_out,
    restore,
    watched_value,
)
from toolkit.training.evaluation import score_predictions


def total_loss(outputs, losses, preds, ys, members: int = 1) -> tuple[torch.Tensor, list[float]]:
    """Σ weight_k · loss_k over outputs, each over the rows that have its target.

    With `members` > 1 (an ensemble model in training mode) each pred is [N, members, …]: the
    loss is the mean over members of each member's loss (members as extra rows, targets repeated).
    """
    total, parts = 0.0, []
    for f, loss_fn, pred, y in zip(outputs, losses, preds, ys):
        if members > 1:
            # [N·k, …]: row n's member j at n·k + j, beside its own target
            pred, y = pred.flatten(0, 1), y.repeat_interleave(members, dim=0)
        unknown = torch.isnan(y) if y.dim() == 1 else torch.isnan(y).flatten(1).any(dim=1)  # rows without a target
        if not unknown.any():  # the usual case: no masking (same rows, same values)
            value = loss_fn(pred, y)
        else:
            keep = ~unknown
            value = loss_fn(pred[keep], y[keep]) if keep.any() else pred.sum() * 0.0
        total = total + f.config.loss_weight * value
        parts.append(value.detach())
    return total, parts


def one_pass(net, model, *, outputs, losses, train, opt, ctx, tc, epoch: int, generator) -> np.ndarray:
    """One epoch over the training rows: forward, loss, backward, step, batch by batch. `net` is `model`
    or its DDP wrapper. Returns [summed loss, rows] over every rank."""
    params = list(model.parameters())
    autocast = torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=tc.precision == "bf16")
    net.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)  # summed on the device:
    seen = 0  # no sync per batch
    join = contextlib.nullcontext()
    if ctx.world > 1:
        from torch.distributed.algorithms.join import Join

        join = Join([net])
    with join:
        for x, y in train.batches(tc.batch_size, epoch, generator):
            with autocast:  # bf16 when asked
                preds = net(*x)  # forward
                loss, _ = total_loss(outputs, losses, preds, y, getattr(model, "ensemble", 1))
            for p in params:  # zero_grad(set_to_none=True)
                p.grad = None
            loss.backward()  # backward
            if tc.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
            opt.step()  # step (+ schedule)
            rows = len(y[0])
            loss_sum += loss.detach() * rows
            seen += rows
    return np.sum(ddp.gather(ctx, (float(loss_sum), seen)), axis=0)


def fit(
    model,
    outputs,
    train,
    val,
    cfg,
    ctx,
    *,
    checkpoint_dir=None,
    resume: bool = False,
    config_fp: str = "",
    on_epoch=None,
) -> History:
    """Train `model` in place on `train` (a toolkit.training.batches split); on return it holds the best
    validation weights. With `checkpoint_dir` every epoch ends with a checkpoint there; `resume`
    continues from it. `on_epoch(record)` sees each epoch's record (epoch, train_loss, rows,
    validation {output: {metric: value}}, lr, seconds); an exception it raises (an Optuna prune)
    ends training and propagates.
    """
    tc = cfg.trainer
    # ---- setup: model and losses on the device, optimizer, schedules, checkpoint ----
    model.to(ctx.device)
    losses = [f.loss() for f in outputs]
    losses = [fn.to(ctx.device) if isinstance(fn, torch.nn.Module) else fn for fn in losses]
    watch_output, watch_metric = cfg.validation_metric()
    if val.rows == 0:
        if ctx.main:
            log.warn("no validation rows: early stopping and best-epoch selection use the training rows")
        val = train
    opt = make_optimizer_and_schedules(model, cfg, max(1, math.ceil(train.rows / tc.batch_size)))
    generator = torch.Generator().manual_seed(tc.seed)
    state = LoopState(cfg, model, opt, generator, checkpoint_dir if ctx.main else None, config_fp)
    if resume and checkpoint_dir is not None:  # rank 0 reads it, every rank restores it (before DDP is built)
        from toolkit.training import checkpoint

        ckpt = ddp.on_rank0(ctx, lambda: checkpoint.load(checkpoint_dir, config_fp))
        state.progress = restore(state, ckpt, checkpoint_dir, announce=ctx.main)
    net = model
    if ctx.world > 1:  # after the restore: DDP sends rank 0's weights to the others when it is built
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    start = time.perf_counter()

    with log.progress(tc.epochs - state.progress.first_epoch + 1, "training") as bar:
        for epoch in range(state.progress.first_epoch, tc.epochs + 1):
            if patience_ran_out(state):
                break
            totals = one_pass(
                net,
                model,
                outputs=outputs,
                losses=losses,
                train=train,
                opt=opt,
                ctx=ctx,
                tc=tc,
                epoch=epoch,
                generator=generator,
            )

            # ---- validate: rank 0's numbers decide on every rank ----
            watched = set() if watch_metric == "loss" else {watch_output}
            preds, ys = val.predictions(model, ctx)
            val_metrics = ddp.broadcast(
                ctx,
                score_predictions(outputs, preds, ys, watched)
                if preds is not None
                else {f.config.name: {"loss": math.nan} for f in outputs},
            )
            value = watched_value(val_metrics, outputs, cfg)
            opt.end_epoch(value)

            # ---- bookkeeping: best weights, checkpoint, early stop ----
            record = {
                "epoch": epoch,
                "train_loss": float(totals[0] / max(totals[1], 1)),
                "rows": int(totals[1]),
                "validation": val_metrics,
                "lr": opt.lr,
                "seconds": time.perf_counter() - start,
            }
            if end_epoch(state, record, value):  # the best epoch's validation answers, kept for the final scores
                state.progress.history.best_predictions = (preds, ys) if val is not train else None
            bar.update(
                advance=1, description=f"epoch {epoch}: loss {record['train_loss']:.4f}, {watch_metric} {value:.4f}"
            )
            if on_epoch is not None:
                on_epoch(record)
            if patience_ran_out(state, announce=ctx.main):
                break
    return finish(state, start)


def refit(model, outputs, rows, cfg, ctx, history: History) -> dict:
    """Train a fresh `model` in place on `rows` (train + validation, one split) for the best epoch count of
    the first run (`history`), with its schedule: the same warm-up and cosine over `trainer.epochs`, and a
    plateau schedule fed the first run's watched values epoch by epoch. No validation, no early stop, no
    checkpoint: the last epoch's weights are the model's. In memory and one process only. Returns what
    training_stats.json says of it."""
    tc = cfg.trainer
    epochs = max(1, history.best_epoch)
    model.to(ctx.device)
    losses = [f.loss() for f in outputs]
    losses = [fn.to(ctx.device) if isinstance(fn, torch.nn.Module) else fn for fn in losses]
    opt = make_optimizer_and_schedules(model, cfg, max(1, math.ceil(rows.rows / tc.batch_size)))
    generator = torch.Generator().manual_seed(tc.seed)
    watched = [watched_value(r["validation"], outputs, cfg) for r in history.epochs]
    start = time.perf_counter()
    with log.progress(epochs, "refit on train + validation") as bar:
        for epoch in range(1, epochs + 1):
            totals = one_pass(
                model,
                model,
                outputs=outputs,
                losses=losses,
                train=rows,
                opt=opt,
                ctx=ctx,
                tc=tc,
                epoch=epoch,
                generator=generator,
            )
            opt.end_epoch(watched[epoch - 1] if epoch <= len(watched) else math.nan)
            bar.update(advance=1, description=f"refit epoch {epoch}/{epochs}: loss {totals[0] / max(totals[1], 1):.4f}")
    model.eval()
    return {"rows": int(rows.rows), "epochs": epochs, "seconds": round(time.perf_counter() - start, 3)}
