"""The training loop's bookkeeping (toolkit.training.loop.fit reads as the loop; the details live here):

opt = make_optimizer_and_schedules(model, cfg, steps_per_epoch)   # AdamW + warm-up/cosine or plateau
state = LoopState(cfg, model, opt, generator, checkpoint_dir, fp)  # what an epoch changes
state.progress = restore(state, checkpoint, …)                    # --resume
value = watched_value(val_metrics, outputs, cfg)                  # the metric early stopping follows
end_epoch(state, record, value)                                   # log line, best weights, checkpoint
patience_ran_out(state)                                           # early stopping
training_stats(cfg, history, metrics, summary, started)           # training_stats.json
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from toolkit.common import log
from toolkit.config.schema import COMBINED
from toolkit.nn.optim import adamw
from toolkit.scoring.metrics import better
from toolkit.scoring.names import LOWER_IS_BETTER


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_value: float = math.nan
    stopped_early: bool = False
    seconds: float = 0.0
    best_predictions: tuple | None = field(default=None, repr=False)  # (preds, ys) of validation, best epoch


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
        optimizer, lr_lambda(warmup, tc.epochs * steps_per_epoch, tc.lr_scheduler)
    )
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min" if watch_metric in LOWER_IS_BETTER else "max",
            factor=0.5,
            patience=max(1, tc.early_stop // 3),
        )
        if tc.lr_scheduler == "plateau"
        else None
    )
    return Optimization(optimizer, schedule, plateau, warmup)


@dataclass
class Progress:
    """What a run carries from one epoch to the next, and what a checkpoint restores."""

    history: History = field(default_factory=History)
    best_state: dict | None = None  # {name: tensor} of the best epoch so far
    since_best: int = 0  # epochs since the best one
    first_epoch: int = 1  # the next epoch to run


@dataclass
class LoopState:
    """What the loop carries from one epoch to the next, and what a checkpoint stores."""

    cfg: object  # the whole Config
    model: torch.nn.Module
    opt: Optimization
    generator: torch.Generator  # the in-memory permutation's; restored on --resume
    checkpoint_dir: object = None  # Path: write a checkpoint each epoch (rank 0 only)
    config_fp: str = ""  # the fingerprint a checkpoint must match
    progress: Progress = field(default_factory=Progress)


def restore(state: LoopState, ckpt: dict | None, where, announce: bool = True) -> Progress:
    """The Progress to start from: fresh, or loaded from `ckpt` (checkpoint.load's dict) into the live
    model, optimizer, schedulers, generator and torch RNG. `where` names the checkpoint in messages."""
    from toolkit.training import checkpoint

    if ckpt is None:
        if announce and where is not None:
            log.warn(f"--resume: no checkpoint at {where}; starting from epoch 1")
        return Progress()
    best_state, past, since_best, done = checkpoint.restore(
        ckpt,
        model=state.model,
        optimizer=state.opt.optimizer,
        schedulers=state.opt.schedulers,
        generator=state.generator,
    )
    history = History(epochs=past["epochs"], best_epoch=past["best_epoch"], best_value=past["best_value"])
    watch = ".".join(state.cfg.validation_metric())
    log.info(f"resuming after epoch {done} (best epoch {history.best_epoch}, {watch} {history.best_value:.4f})")
    return Progress(history, best_state, since_best, done + 1)


def watched_value(val_metrics: dict, outputs, cfg) -> float:
    """The validation metric that early stopping watches; adds the combined loss to `val_metrics` if asked."""
    watch_output, watch_metric = cfg.validation_metric()
    if watch_output == COMBINED and COMBINED not in val_metrics:
        val_metrics[COMBINED] = {
            "loss": sum(f.config.loss_weight * val_metrics[f.config.name]["loss"] for f in outputs)
        }
    return val_metrics[watch_output][watch_metric]


def end_epoch(state: LoopState, record: dict, value: float) -> bool:
    """Log the epoch, keep its weights if `value` is the best so far, write the checkpoint; True if improved."""
    from toolkit.training import checkpoint

    cfg, progress = state.cfg, state.progress
    watch_output, watch_metric = cfg.validation_metric()
    history = progress.history
    history.epochs.append(record)
    improved = progress.best_state is None or better(watch_metric, value, history.best_value)
    if improved:
        history.best_epoch, history.best_value, progress.since_best = record["epoch"], value, 0
        progress.best_state = {k: v.detach().clone() for k, v in state.model.state_dict().items()}
    else:
        progress.since_best += 1
    progress.first_epoch = record["epoch"] + 1
    log.info(
        f"epoch {record['epoch']:>3}/{cfg.trainer.epochs}  train loss {record['train_loss']:.4f}  "
        f"validation {watch_output}.{watch_metric} {value:.4f}{'  *' if improved else ''}  "
        f"({record['seconds']:.1f} s)"
    )
    if state.checkpoint_dir is not None:
        checkpoint.save(
            state.checkpoint_dir,
            epoch=record["epoch"],
            model=state.model,
            best_state=progress.best_state,
            optimizer=state.opt.optimizer,
            schedulers=state.opt.schedulers,
            generator=state.generator,
            history={"epochs": history.epochs, "best_epoch": history.best_epoch, "best_value": history.best_value},
            since_best=progress.since_best,
            config_fp=state.config_fp,
        )
    return improved


def patience_ran_out(state: LoopState, announce: bool = False) -> bool:
    """True when early stopping ends the run now; `announce` logs it and marks the history."""
    progress, es = state.progress, state.cfg.trainer.early_stop
    if not (es and progress.since_best >= es):
        return False
    if announce:
        progress.history.stopped_early = True
        watch_output, watch_metric = state.cfg.validation_metric()
        log.info(
            f"early stop: no better {watch_output}.{watch_metric} for {es} epochs; "
            f"best epoch {progress.history.best_epoch} ({progress.history.best_value:.4f})"
        )
    return True


def finish(state: LoopState, start: float) -> History:
    """End of training: the best epoch's weights back in the model, the history with its seconds."""
    state.model.load_state_dict(state.progress.best_state)
    history = state.progress.history
    history.seconds = time.perf_counter() - start
    return history


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
