"""The training loop: AdamW, warm-up then cosine (or plateau), early stopping.

Read it top to bottom: `fit` builds the optimizer and schedule, then each
epoch shuffles the training rows with a seeded generator, steps through
batches, evaluates on the validation rows, keeps the best weights and writes
a checkpoint. Same seed and same thread count → bit-identical weights on CPU.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from toolkit import log
from toolkit.config import COMBINED
from toolkit.metric_names import LOWER_IS_BETTER
from toolkit.metrics import better
from toolkit.optim import adamw

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


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_value: float = math.nan
    stopped_early: bool = False
    seconds: float = 0.0


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


def lr_lambda(warmup_steps: int, total_steps: int, kind: str):
    """Multiplier of the base learning rate at step s: linear warm-up, then cosine to 0."""
    def f(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if kind != "cosine":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return f


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


@dataclass
class Optimization:
    """AdamW with the per-step warm-up/cosine schedule and, for `lr_scheduler: plateau`, ReduceLROnPlateau."""

    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None
    warmup: int  # warm-up steps

    @property
    def schedulers(self) -> dict:
        """As the checkpoint stores them."""
        return {"warmup_cosine": self.schedule, "plateau": self.plateau}

    def step(self) -> None:
        """optimizer.step(), then the schedule (plateau owns the lr after warm-up)."""
        self.optimizer.step()
        if self.plateau is None or self.schedule.last_epoch < self.warmup:
            self.schedule.step()

    def end_epoch(self, value: float) -> None:
        if self.plateau is not None:
            self.plateau.step(value if not math.isnan(value) else 0.0)

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]


def make_optimizer_and_schedules(model, cfg, steps_per_epoch: int) -> Optimization:
    """The Optimization of a run of `cfg.trainer.epochs` epochs of `steps_per_epoch` optimizer steps."""
    tc = cfg.trainer
    _, watch_metric = cfg.validation_metric()
    optimizer = adamw(model.parameters(), lr=tc.learning_rate, weight_decay=tc.weight_decay)
    warmup = int(tc.warmup_epochs * steps_per_epoch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(warmup, tc.epochs * steps_per_epoch, tc.lr_scheduler))
    plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min" if watch_metric in LOWER_IS_BETTER else "max", factor=0.5,
        patience=max(1, tc.early_stop // 3)) if tc.lr_scheduler == "plateau" else None)
    return Optimization(optimizer, schedule, plateau, warmup)


@dataclass
class Progress:
    """What a run carries from one epoch to the next, and what a checkpoint restores."""

    history: History = field(default_factory=History)
    best_state: dict | None = None  # {name: tensor} of the best epoch so far
    since_best: int = 0  # epochs since the best one
    first_epoch: int = 1  # the next epoch to run


def restore(ckpt: dict | None, where, model, opt: Optimization, generator, cfg, *, resume: bool = True,
            main: bool = True) -> Progress:
    """The Progress to start from: fresh, or loaded from `ckpt` (checkpoint.load's dict) into the live
    model, optimizer, schedulers, generator and torch RNG. `where` names the checkpoint in messages."""
    from toolkit import checkpoint

    if ckpt is None:
        if resume and main and where is not None:
            log.warn(f"--resume: no checkpoint at {where}; starting from epoch 1")
        return Progress()
    best_state, past, since_best, done = checkpoint.restore(
        ckpt, model=model, optimizer=opt.optimizer, schedulers=opt.schedulers, generator=generator)
    history = History(epochs=past["epochs"], best_epoch=past["best_epoch"], best_value=past["best_value"])
    watch = ".".join(cfg.validation_metric())
    log.info(f"resuming after epoch {done} (best epoch {history.best_epoch}, {watch} {history.best_value:.4f})")
    return Progress(history, best_state, since_best, done + 1)


def watched_value(val_metrics: dict, outputs, cfg) -> float:
    """The validation metric that early stopping watches; adds the combined loss to `val_metrics` if asked."""
    watch_output, watch_metric = cfg.validation_metric()
    if watch_output == COMBINED and COMBINED not in val_metrics:
        val_metrics[COMBINED] = {"loss": sum(f.config.loss_weight * val_metrics[f.config.name]["loss"]
                                             for f in outputs)}
    return val_metrics[watch_output][watch_metric]


def end_epoch(progress: Progress, record: dict, value: float, model, cfg, opt: Optimization, generator,
              checkpoint_dir=None, config_fp: str = "") -> bool:
    """Log the epoch, keep its weights if `value` is the best so far, write the checkpoint; True if improved."""
    from toolkit import checkpoint

    watch_output, watch_metric = cfg.validation_metric()
    history = progress.history
    history.epochs.append(record)
    improved = progress.best_state is None or better(watch_metric, value, history.best_value)
    if improved:
        history.best_epoch, history.best_value, progress.since_best = record["epoch"], value, 0
        progress.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        progress.since_best += 1
    progress.first_epoch = record["epoch"] + 1
    log.info(f"epoch {record['epoch']:>3}/{cfg.trainer.epochs}  train loss {record['train_loss']:.4f}  "
             f"validation {watch_output}.{watch_metric} {value:.4f}{'  *' if improved else ''}  "
             f"({record['seconds']:.1f} s)")
    if checkpoint_dir is not None:
        checkpoint.save(checkpoint_dir, epoch=record["epoch"], model=model, best_state=progress.best_state,
                        optimizer=opt.optimizer, schedulers=opt.schedulers, generator=generator,
                        history={"epochs": history.epochs, "best_epoch": history.best_epoch,
                                 "best_value": history.best_value},
                        since_best=progress.since_best, config_fp=config_fp)
    return improved


def patience_ran_out(progress: Progress, cfg, announce: bool = False) -> bool:
    """True when early stopping ends the run now; `announce` logs it and marks the history."""
    es = cfg.trainer.early_stop
    if not (es and progress.since_best >= es):
        return False
    if announce:
        progress.history.stopped_early = True
        watch_output, watch_metric = cfg.validation_metric()
        log.info(f"early stop: no better {watch_output}.{watch_metric} for {es} epochs; "
                 f"best epoch {progress.history.best_epoch} ({progress.history.best_value:.4f})")
    return True


def training_stats(cfg, history: History, metrics: dict, data_summary: dict, started: float) -> dict:
    """training_stats.json of a run that began at time.perf_counter() `started`."""
    return {
        "best_epoch": history.best_epoch,
        "validation_metric": ".".join(cfg.validation_metric()),
        "best_value": history.best_value,
        "stopped_early": history.stopped_early,
        "epochs": history.epochs,
        "metrics": metrics,
        "data": data_summary,
        "train_seconds": history.seconds,
        "total_seconds": time.perf_counter() - started,
    }


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
    model.load_state_dict(progress.best_state)
    model.to("cpu")
    history = progress.history
    history.seconds = time.perf_counter() - start
    return history
