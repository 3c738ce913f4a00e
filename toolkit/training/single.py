"""One model trained on one split of the rows: fit features → preprocess → the kind's core → score.

    fitted = fit_single(job, kind)     # job: training.job.TrainJob; kind: a toolkit.models ModelKind

In memory (a DataFrame, or a file under TK_STREAM_BYTES) the table is one
chunk: split exactly (stratified when asked), preprocessed once, its tensors
kept on the training device. Streamed (a glob, a directory, big files,
`stream=True`, several processes) each split is read chunk by chunk on every
pass; the split of a row is a hash of its number. With WORLD_SIZE > 1 rank 0
fits the features and sends their JSON state to the other ranks, every rank
trains on its shard under DDP, and rank 0 alone logs and writes.

What differs between model kinds is one call, `kind.fit_core(...)`; the
features, splits, post step, scores and stats are the same for all.
"""

from __future__ import annotations

import time
from pathlib import Path

from toolkit.common import log
from toolkit.config.schema import render
from toolkit.features import columns as prepare
from toolkit.training import ddp
from toolkit.training.job import Fitted, TrainJob
from toolkit.training.steps import (
    PARITY_ROWS,
    TRAIN_SCORE_ROWS,
    checked_split,
    final_scores,
    fit_on_rank0,
    fit_post,
    make_splits,
    never_predicted,
)


def fit_single(job: TrainJob, kind) -> Fitted:
    """Train `job.cfg` with `kind.fit_core` (see the module docstring); returns the Fitted model on
    every rank. The model directory is not written here (toolkit.pipeline.run does that)."""
    import torch

    from toolkit.features.pregraph import Preprocessor
    from toolkit.training import checkpoint, epochs
    from toolkit.training.devices import pick_device
    from toolkit.training.rows import wanted

    cfg, source, label = job.cfg, job.source, job.label
    started = time.perf_counter()
    tc = cfg.trainer
    ctx = ddp.setup(pick_device(tc.device))
    was_quiet = log.quiet
    log.quiet = was_quiet or not ctx.main  # only rank 0 logs (warnings too, where the loop can tell)
    try:
        inputs, outputs = kind.make_features(cfg)
        if not source.whole:
            source.wanted = wanted(cfg, inputs, outputs)
        need = prepare.wanted_columns(cfg, True)
        if cfg.preprocessing.split.type == "fixed":
            need.setdefault(cfg.preprocessing.split.column, "preprocessing.split.column")
        source.check(need)
        if cfg.preprocessing.split.type == "stratified" and not source.whole and ctx.main:
            log.warn("streaming: a stratified split is drawn as a random (hashed) split")
        inputs, outputs, summary = fit_on_rank0(
            cfg, source, inputs=inputs, outputs=outputs, ctx=ctx, rows=job.rows, label=label
        )
        log.info(
            f"{label}: {summary['rows']} rows{' streamed' if not source.whole else ''} → "
            + ", ".join(f"{k} {v}" for k, v in summary["rows_per_split"].items())
            + (f" over {ctx.world} processes" if ctx.world > 1 else "")
        )
        if job.output is not None:  # it will export: import torch.onnx now, while few modules are loaded
            import torch.onnx  # noqa: F401  (its custom-op registration walks sys.modules: 0.1 s here, 0.5 s later)

        torch.manual_seed(tc.seed)
        pre = Preprocessor(inputs, threads=tc.threads or (1 if ctx.world > 1 else None))
        splits = make_splits(
            cfg, source, inputs=inputs, outputs=outputs, pre=pre, ctx=ctx, rows=job.rows, summary=summary, label=label
        )
        ckpt_dir = checkpoint.directory_for(Path(job.output)) if job.output is not None else None
        fingerprint = checkpoint.fingerprint(render(cfg) + label + str(summary["rows"]))
        model, history = kind.fit_core(
            job, inputs, outputs, splits, ctx, checkpoint_dir=ckpt_dir, config_fp=fingerprint
        )
        val_answers = getattr(history, "best_predictions", None)  # the loop scored the best weights already
        if val_answers is None or val_answers[0] is None:
            val_answers = checked_split(splits).predictions(model, ctx)
        post = fit_post(model, outputs, checked_split(splits), ctx, val_answers)
        silent = never_predicted(outputs, val_answers[0]) if ctx.main else {}
        metrics = final_scores(model, outputs, splits, ctx, val_answers, tc.seed)
        if source.whole and splits["train"].rows > TRAIN_SCORE_ROWS:
            summary["train_rows_scored"] = TRAIN_SCORE_ROWS  # train metrics estimated on a seeded sample
        first, refit = (
            model,
            refit_on_all_rows(
                job, kind, inputs=inputs, outputs=outputs, splits=splits, ctx=ctx, first=model, history=history
            ),
        )
        if refit is not None:
            model, refit_stats = refit
            first.to("cpu")
        model.to("cpu")
        extra = {"processes": ctx.world} if not source.whole else {}
        stats = epochs.training_stats(cfg, history, metrics, summary | extra, started)
        if post:
            stats["calibration"] = post
        if silent:
            stats["never_predicted"] = silent
        if refit is not None:
            stats["refit"] = refit_stats
        stats |= kind.core_stats(model)
        parity = checked_split(splits).raw_sample(PARITY_ROWS) or None  # rows the export is checked on
        if not source.whole:
            for split_name, per_output in metrics.items():
                log.info(
                    f"{split_name}: "
                    + "; ".join(
                        f"{o} " + " ".join(f"{m} {v:.4f}" for m, v in ms.items()) for o, ms in per_output.items()
                    )
                )
        return Fitted(
            cfg,
            inputs,
            outputs,
            model,
            stats,
            parity_columns=parity,
            writes=ctx.main,
            checkpoint_dir=ckpt_dir,
            first_core=first,
        )
    finally:
        log.quiet = was_quiet
        ddp.finish(ctx)


def refit_on_all_rows(job: TrainJob, kind, *, inputs, outputs, splits, ctx, first, history):
    """trainer.refit: (the core trained again on train + validation rows at the size `first` found, what
    training_stats.json says of it), or None (refit off, no validation rows, streamed data or several
    processes, or a kind that keeps its first core)."""
    tc = job.cfg.trainer
    if not tc.refit or not splits["validation"].rows:
        return None
    if not job.source.whole or ctx.world > 1:
        log.info("trainer.refit: streamed data or several processes keep the model of the train split")
        return None
    rows = splits["train"].joined(splits["validation"])
    found = kind.refit_core(job, inputs, outputs, rows, ctx, first=first, history=history)
    if found is None:
        return None
    core, info = found
    log.info(
        f"refit on train + validation: {info['rows']} rows, "
        + (f"{info['epochs']} epoch(s)" if "epochs" in info else f"{max(info.get('rounds', [0]))} round(s)")
        + f" ({info['seconds']:.1f} s); the metrics shown are the first model's, on rows it did not learn from"
    )
    info["metrics_from"] = "the model trained on the train split alone, before the refit"
    return core, info
