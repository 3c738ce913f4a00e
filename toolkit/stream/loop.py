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
    the whole split with sklearn, identically on each rank (so early stopping
    agrees); only rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch

from toolkit import log
from toolkit.config import COMBINED
from toolkit.metrics import better
from toolkit.optim import adamw
from toolkit.stream import ddp
from toolkit.stream.dataset import shuffled_batches
from toolkit.trainer import History, lr_lambda, predict_raw, score_predictions, total_loss


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


def fit_stream(model, outputs, train, val, cfg, ctx, train_rows: int, checkpoint_dir=None, resume: bool = False,
               config_fp: str = "", on_epoch=None) -> History:
    """Train `model` in place over StreamSplits `train` and `val`; on return it holds the best weights."""
    from toolkit import checkpoint

    tc = cfg.trainer
    model.to(ctx.device)
    net = model
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    losses = [f.loss() for f in outputs]
    for i, loss_fn in enumerate(losses):
        if isinstance(loss_fn, torch.nn.Module):
            losses[i] = loss_fn.to(ctx.device)
    watch_output, watch_metric = cfg.validation_metric()
    if val is None:
        log.warn("no validation rows: early stopping and best-epoch selection use the training rows")
        val = train

    optimizer = adamw(model.parameters(), lr=tc.learning_rate, weight_decay=tc.weight_decay)
    batch = max(2, tc.batch_size // ctx.world)
    steps_per_epoch = max(1, math.ceil(train_rows / tc.batch_size))
    warmup = int(tc.warmup_epochs * steps_per_epoch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(warmup, tc.epochs * steps_per_epoch, tc.lr_scheduler))
    plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min" if watch_metric in ("loss", "mae", "rmse") else "max", factor=0.5,
        patience=max(1, tc.early_stop // 3)) if tc.lr_scheduler == "plateau" else None)
    schedulers = {"warmup_cosine": schedule, "plateau": plateau}
    generator = torch.Generator().manual_seed(tc.seed)  # unused by the stream; kept for the checkpoint format

    history, best_state, since_best, first_epoch = History(), None, 0, 1
    if resume and checkpoint_dir is not None:
        ckpt = checkpoint.load(checkpoint_dir, config_fp)
        if ckpt is None:
            log.warn(f"--resume: no checkpoint at {checkpoint_dir}; starting from epoch 1")
        else:
            best_state, past, since_best, done = checkpoint.restore(
                ckpt, model=model, optimizer=optimizer, schedulers=schedulers, generator=generator)
            history = History(epochs=past["epochs"], best_epoch=past["best_epoch"], best_value=past["best_value"])
            first_epoch = done + 1
            log.info(f"resuming after epoch {done}")
    start = time.perf_counter()
    for epoch in range(first_epoch, tc.epochs + 1):
        if tc.early_stop and since_best >= tc.early_stop:
            break
        net.train()
        seed = (tc.seed * 1_000_003 + epoch) * 101 + ctx.rank
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
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if tc.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                optimizer.step()
                if plateau is None or schedule.last_epoch < warmup:
                    schedule.step()
                loss_sum += float(loss.detach()) * len(by[0])
                seen += len(by[0])
        totals = np.sum(ddp.gather(ctx, (loss_sum, seen)), axis=0)
        watched = set() if watch_metric == "loss" else {watch_output}
        val_metrics = evaluate_stream(model, outputs, losses, val, ctx, metrics_for=watched)
        if watch_output == COMBINED and COMBINED not in val_metrics:
            val_metrics[COMBINED] = {"loss": sum(f.config.loss_weight * val_metrics[f.config.name]["loss"]
                                                 for f in outputs)}
        value = val_metrics[watch_output][watch_metric]
        if plateau is not None:
            plateau.step(value if not math.isnan(value) else 0.0)
        record = {"epoch": epoch, "train_loss": float(totals[0] / max(totals[1], 1)),
                  "validation": val_metrics, "lr": optimizer.param_groups[0]["lr"],
                  "seconds": time.perf_counter() - start, "rows": int(totals[1])}
        history.epochs.append(record)
        improved = best_state is None or better(watch_metric, value, history.best_value)
        if improved:
            history.best_epoch, history.best_value, since_best = epoch, value, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        if ctx.main:
            log.info(f"epoch {epoch:>3}/{tc.epochs}  train loss {record['train_loss']:.4f}  "
                     f"validation {watch_output}.{watch_metric} {value:.4f}{'  *' if improved else ''}  "
                     f"({record['seconds']:.1f} s)")
            if checkpoint_dir is not None:
                checkpoint.save(checkpoint_dir, epoch=epoch, model=model, best_state=best_state,
                                optimizer=optimizer, schedulers=schedulers, generator=generator,
                                history={"epochs": history.epochs, "best_epoch": history.best_epoch,
                                         "best_value": history.best_value},
                                since_best=since_best, config_fp=config_fp)
        if on_epoch is not None:
            on_epoch(record)
        if tc.early_stop and since_best >= tc.early_stop:
            history.stopped_early = True
            if ctx.main:
                log.info(f"early stop: best epoch {history.best_epoch} ({history.best_value:.4f})")
            break
    model.load_state_dict(best_state)
    model.to("cpu")
    history.seconds = time.perf_counter() - start
    return history
