"""The training loop: AdamW, warm-up then cosine (or plateau), early stopping.

Read it top to bottom: `fit` builds the optimizer and schedule, then each
epoch shuffles the training rows with a seeded generator, steps through
batches, evaluates on the validation rows, keeps the best weights and writes
a checkpoint. Same seed and same thread count → bit-identical weights on CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from toolkit import log
from toolkit.epochs import (History, end_epoch, finish, make_optimizer_and_schedules, patience_ran_out,
                            restore, watched_value)

EVAL_BATCH = 16_384


@dataclass
class Batches:
    """Model inputs and targets for one split, as torch tensors."""

    x: list[torch.Tensor]  # one tensor per input feature, [N, …]
    y: list[torch.Tensor]  # one float tensor per output feature, [N] (NaN = no target)

    def __len__(self) -> int:
        return len(self.y[0])

    def take(self, idx: torch.Tensor) -> "Batches":
        return Batches([t[idx] for t in self.x], [t[idx] for t in self.y])

    def rows(self, start: int, stop: int) -> "Batches":
        """Rows start:stop as views (no copy)."""
        return Batches([t[start:stop] for t in self.x], [t[start:stop] for t in self.y])

    def to(self, device) -> "Batches":
        return Batches([t.to(device) for t in self.x], [t.to(device) for t in self.y])


def pick_device(name: str) -> torch.device:
    from toolkit.errors import TkError

    if name == "cuda" and not torch.cuda.is_available():
        raise TkError("trainer.device: cuda was asked for but torch sees no CUDA device; use cpu or auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def thread_count(configured: int | None, model) -> int:
    """torch threads: as configured, else 1 for small models (< 1 M parameters).

    A small MLP's steps are too short to gain from intra-op threads, and on a
    busy 2-core machine extra threads made training 5-10x slower.
    """
    import os

    if configured:
        return configured
    n_params = sum(p.numel() for p in model.parameters())
    return 1 if n_params < 1_000_000 else (os.cpu_count() or 1)


def total_loss(outputs, losses, preds, ys) -> tuple[torch.Tensor, list[float]]:
    """Σ weight_k · loss_k over outputs, each over the rows that have its target."""
    total, parts = 0.0, []
    for f, loss_fn, pred, y in zip(outputs, losses, preds, ys):
        unknown = torch.isnan(y) if y.dim() == 1 else torch.isnan(y).flatten(1).any(dim=1)  # rows without a target
        if not unknown.any():  # the usual case: no masking (same rows, same values)
            value = loss_fn(pred, y)
        else:
            keep = ~unknown
            value = loss_fn(pred[keep], y[keep]) if keep.any() else pred.sum() * 0.0
        total = total + f.config.loss_weight * value
        parts.append(float(value.detach()))
    return total, parts


@torch.no_grad()
def predict_raw(model, x: list[torch.Tensor]) -> list[np.ndarray]:
    """Decoder outputs for all rows, in eval mode and big batches: list of [N] / [N, C]."""
    model.eval()
    n = len(x[0])
    chunks = [model(*[t[i:i + EVAL_BATCH] for t in x]) for i in range(0, max(n, 1), EVAL_BATCH)]
    return [torch.cat([c[k] for c in chunks]).float().cpu().numpy() for k in range(len(chunks[0]))]


def evaluate(model, outputs, losses, data: Batches, metrics_for: set[str] | None = None
             ) -> dict[str, dict[str, float]]:
    """{output name: {"loss": …, metric: …}} on one split.

    Every output gets its loss; the other metrics only for the outputs in
    `metrics_for` (all when None): each epoch needs just the watched one.
    """
    preds = predict_raw(model, data.x)
    return score_predictions(outputs, losses, preds, [y.cpu().numpy() for y in data.y], metrics_for)


def score_predictions(outputs, losses, preds: list[np.ndarray], ys: list[np.ndarray],
                      metrics_for: set[str] | None = None) -> dict[str, dict[str, float]]:
    """`evaluate` from decoder outputs [N] / [N, C] and targets per output (numpy)."""
    result = {}
    for f, loss_fn, pred, y_np in zip(outputs, losses, preds, ys):
        keep = ~np.isnan(y_np) if y_np.ndim == 1 else ~np.isnan(y_np).reshape(len(y_np), -1).any(axis=1)
        with torch.no_grad():
            loss = float(loss_fn(torch.from_numpy(pred[keep]), torch.from_numpy(y_np[keep]))) if keep.any() else math.nan
        result[f.config.name] = {"loss": loss}
        if metrics_for is None or f.config.name in metrics_for:
            result[f.config.name] |= f.metrics(y_np[keep], pred[keep])
    return result


def fit(model, outputs, train: Batches, val: Batches, cfg, checkpoint_dir=None, resume: bool = False,
        config_fp: str = "", on_epoch=None) -> History:
    """Train `model` in place; on return it holds the best validation weights.

    `cfg` is the whole Config. With `checkpoint_dir`, every epoch ends with a
    checkpoint there (toolkit.checkpoint); `resume` continues from it.
    `on_epoch(record)`, if given, sees each epoch's record (epoch, train_loss,
    validation {output: {metric: value}}, lr, seconds) after it is logged; an
    exception it raises (e.g. an Optuna prune) ends training and propagates.
    """
    from toolkit import checkpoint

    tc = cfg.trainer
    device = pick_device(tc.device)
    model.to(device)
    train, val = train.to(device), val.to(device)
    losses = [f.loss() for f in outputs]
    for i, loss_fn in enumerate(losses):
        if isinstance(loss_fn, torch.nn.Module):
            losses[i] = loss_fn.to(device)
    watch_output, watch_metric = cfg.validation_metric()
    if len(val) == 0:
        log.warn("no validation rows: early stopping and best-epoch selection use the training rows")
        val = train

    n = len(train)
    opt = make_optimizer_and_schedules(model, cfg, max(1, math.ceil(n / tc.batch_size)))
    generator = torch.Generator().manual_seed(tc.seed)
    ckpt = checkpoint.load(checkpoint_dir, config_fp) if resume and checkpoint_dir is not None else None
    progress = restore(ckpt, checkpoint_dir, model, opt, generator, cfg, resume=resume)
    params = list(model.parameters())
    start = time.perf_counter()
    with log.progress(tc.epochs - progress.first_epoch + 1, "training") as bar:
        for epoch in range(progress.first_epoch, tc.epochs + 1):
            if patience_ran_out(progress, cfg):
                break
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            shuffled = train.take(order)  # one gather per epoch; each batch is a slice of it
            train_loss, seen = 0.0, 0
            for i in range(0, n, tc.batch_size):
                rows = min(tc.batch_size, n - i)
                if rows < 2 and n >= 2:  # BatchNorm cannot train on one row
                    continue
                batch = shuffled.rows(i, i + rows)
                preds = model(*batch.x)
                loss, _ = total_loss(outputs, losses, preds, batch.y)
                for p in params:  # optimizer.zero_grad(set_to_none=True), minus its profiler hooks
                    p.grad = None
                loss.backward()
                if tc.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
                opt.step()
                train_loss += float(loss.detach()) * rows
                seen += rows

            watched = set() if watch_metric == "loss" else {watch_output}
            val_metrics = evaluate(model, outputs, losses, val, metrics_for=watched)
            value = watched_value(val_metrics, outputs, cfg)
            opt.end_epoch(value)
            record = {"epoch": epoch, "train_loss": train_loss / max(seen, 1),
                      "validation": val_metrics, "lr": opt.lr, "seconds": time.perf_counter() - start}
            end_epoch(progress, record, value, model, cfg, opt, generator, checkpoint_dir, config_fp)
            bar.update(advance=1, description=f"epoch {epoch}: loss {record['train_loss']:.4f}, "
                                              f"{watch_metric} {value:.4f}")
            if on_epoch is not None:
                on_epoch(record)
            if patience_ran_out(progress, cfg, announce=True):
                break
    return finish(model, progress, start)
