"""One training run, whatever the data: fit features → preprocess → train → score → save.

    source = readers.FrameSource(df) | readers.Source("data/*.parquet")   # a table in memory is one chunk
    result = run(cfg, source, label, output="runs/x")

In memory (a DataFrame, or a file under TK_STREAM_BYTES) the table is one
chunk: split exactly (stratified when asked), preprocessed once, its tensors
kept on the training device. Streamed (a glob, a directory, big files,
`stream=True`, several processes) each split is read chunk by chunk on every
pass; the split of a row is a hash of its number. With WORLD_SIZE > 1 rank 0
fits the features and sends their JSON state to the other ranks, every rank
trains on its shard under DDP, and rank 0 alone logs and writes.
"""

from __future__ import annotations

import time
from pathlib import Path

from toolkit import log, prepare
from toolkit.config import render
from toolkit.features.base import OutputFeature
from toolkit.stream import ddp, readers

PARITY_ROWS = 2_000


def fit_on_rank0(cfg, source, inputs, outputs, ctx, rows: int, label: str):
    """Fit on rank 0, share the states; a TkError on rank 0 is raised on every rank."""
    from toolkit.fitting import fit_features

    def fit_all():
        summary = fit_features(cfg, source, inputs, outputs, rows, label)
        return summary, {"inputs": {f.config.name: f.state() for f in inputs},
                         "outputs": {f.config.name: f.state() for f in outputs}}

    summary, states = ddp.on_rank0(ctx, fit_all)
    if not ctx.main:
        inputs = [type(f).from_state(f.config, states["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, states["outputs"][f.config.name]) for f in outputs]
    return inputs, outputs, summary


def make_splits(cfg, source, inputs, outputs, pre, ctx, rows: int, summary: dict, label: str) -> dict:
    """{"train" | "validation" | "test": a toolkit.batches split}."""
    from toolkit.batches import MemorySplit, StreamSplit

    if source.whole:
        by_index = MemorySplit.all_splits(source, cfg, inputs, outputs, pre, label, ctx.device)
        return {name: by_index[k] for k, name in enumerate(prepare.SPLITS)}
    per_split = summary["rows_per_split"]
    return {name: StreamSplit(cfg, source, inputs, outputs, pre, k, ctx, rows, per_split[name], label)
            for k, name in enumerate(prepare.SPLITS)}


def gbm_max_rows() -> int:
    """Rows of one split a gbm model trains on at most (TK_GBM_MAX_ROWS, default 20 million)."""
    import os

    return int(os.environ.get("TK_GBM_MAX_ROWS", 20_000_000))


def fit_gbm(cfg, inputs, outputs, splits, ctx):
    """model_type gbm: LightGBM boosters on the pre graph's outputs of the train split, early stopping on
    the validation split. Returns (GbmCore, History of one record)."""
    import math

    from toolkit.epochs import History, watched_value
    from toolkit.errors import TkError
    from toolkit.evaluation import evaluate
    from toolkit.gbm import GbmModel, Layout
    from toolkit.gbm.core import GbmCore

    if ctx.world > 1:
        raise TkError("model_type gbm trains in one process: drop --nproc / torchrun")
    start = time.perf_counter()
    limit = gbm_max_rows()
    pre_train, ys_train = splits["train"].arrays(inputs, limit)
    pre_val, ys_val = splits["validation"].arrays(inputs, limit) if splits["validation"].rows else ({}, None)
    layout = Layout.of(inputs, pre_train)
    gbm = GbmModel(cfg.gbm).fit(layout.matrix(pre_train), ys_train, layout.matrix(pre_val) if pre_val else None,
                                ys_val, outputs, layout, validation_metric=cfg.validation_metric())
    core = GbmCore(gbm, [f.config.name for f in inputs])
    val = splits["validation"] if splits["validation"].rows else splits["train"]
    watch_output, watch_metric = cfg.validation_metric()
    val_metrics = evaluate(core, outputs, val, ctx, metrics_for=None if watch_metric != "loss" else set())
    value = watched_value(val_metrics, outputs, cfg)
    seconds = time.perf_counter() - start
    rounds = max((b["rounds"] for b in gbm.stats.values()), default=0)
    record = {"epoch": 1, "train_loss": math.nan, "rows": splits["train"].rows, "validation": val_metrics,
              "lr": cfg.gbm.learning_rate, "seconds": seconds, "rounds": rounds}
    log.info(f"gbm: {len(gbm.stats)} booster(s), {rounds} rounds; validation {watch_output}.{watch_metric} "
             f"{value:.4f} ({seconds:.1f} s)")
    return core, History(epochs=[record], best_epoch=1, best_value=value, seconds=seconds)


#: Train-split rows scored at the end (a seeded sample above it: the scores are estimates, the rows counted).
TRAIN_SCORE_ROWS = 50_000


def final_scores(model, outputs, splits, ctx, val_answers=None, seed: int = 0) -> dict:
    """{split: {output: {metric: value}}} of the trained model; the validation split from the loop's
    answers of the best epoch when given (the same weights), a big in-memory train split on a sample."""
    from toolkit.evaluation import evaluate, score_predictions

    metrics = {}
    for name, split in splits.items():
        if not split.rows:
            continue
        if name == "validation" and val_answers is not None and val_answers[0] is not None:
            metrics[name] = score_predictions(outputs, *val_answers)
        elif name == "train" and split.rows > TRAIN_SCORE_ROWS and hasattr(split, "sample"):
            metrics[name] = evaluate(model, outputs, split.sample(TRAIN_SCORE_ROWS, seed), ctx)
        else:
            metrics[name] = evaluate(model, outputs, split, ctx)
    return metrics


def fit_post(model, outputs, split, ctx, answers=None) -> dict:
    """Each output's `fit_post` (temperature, threshold) on the validation rows' decoder outputs
    (`answers`: (preds, ys) already computed, else computed here): {output: what it reports}, only the
    outputs that fitted something. Every rank computes the same."""
    from toolkit.features.base import known_rows

    if not any(type(f).fit_post is not OutputFeature.fit_post for f in outputs):
        return {}
    preds, ys = answers if answers is not None and answers[0] is not None else split.predictions(model, ctx)
    found = {}
    for f, pred, y in zip(outputs, preds or [], ys or []):
        keep = known_rows(y)
        info = f.fit_post(y[keep], pred[keep]) if keep.any() else None
        if info:
            found[f.config.name] = info
            log.info(f"{f.config.name}: " + ", ".join(f"{k} {v:.4g}" for k, v in info.items()))
    return found


def run_ensemble(cfg, source, label: str, output=None, resume: bool = False, on_epoch=None,
                 rows: int = readers.CHUNK_ROWS):
    """model_type ensemble: the network and the GBM on the same split (toolkit.ensemble), their raw
    outputs averaged; calibration, metrics and the export on the average. A streamed source or
    several processes: the network alone."""
    from toolkit import ensemble, epochs
    from toolkit.devices import pick_device
    from toolkit.evaluation import evaluate
    from toolkit.preprocess import Preprocessor
    from toolkit.trained import TrainedModel

    nn_cfg = cfg.model_copy(update={"model_type": "nn"})
    if not source.whole or ddp.world_size() > 1 or not any(f.type != "text" for f in cfg.input_features):
        log.info("model_type ensemble: the network alone (streamed data, several processes or text only)")
        return run(nn_cfg, source, label, output, resume, on_epoch, rows)
    started = time.perf_counter()
    net = run(nn_cfg, source, label, None, resume, on_epoch, rows)
    trees = run(ensemble.gbm_member_config(cfg), source, label, None, False, None, rows)
    by_name = {f.config.name: f for f in trees.inputs}
    extra = [by_name[fc.name] for fc in ensemble.member_inputs(cfg)[1]]
    inputs, outputs = net.inputs + extra, net.outputs
    core = ensemble.EnsembleCore(net.model, trees.model, len(net.inputs), [f.config.name for f in inputs])
    ctx = ddp.setup(pick_device(cfg.trainer.device))
    pre = Preprocessor(inputs, threads=cfg.trainer.threads)
    summary = net.stats["data"]
    splits = make_splits(cfg, source, inputs, outputs, pre, ctx, rows, summary, label)
    val = splits["validation"] if splits["validation"].rows else splits["train"]
    post = fit_post(core, outputs, val, ctx)
    metrics = {name: evaluate(core, outputs, split, ctx) for name, split in splits.items() if split.rows}
    watch_output, watch_metric = cfg.validation_metric()
    value = epochs.watched_value(metrics.get("validation", metrics["train"]), outputs, cfg)
    history = epochs.History(epochs=net.stats["epochs"], best_epoch=net.stats["best_epoch"], best_value=value,
                             stopped_early=net.stats["stopped_early"],
                             seconds=net.stats["train_seconds"] + trees.stats["train_seconds"])
    stats = epochs.training_stats(cfg, history, metrics, summary, started)
    stats["ensemble"] = {"validation_metric": f"{watch_output}.{watch_metric}", "nn": net.stats["best_value"],
                         "gbm": trees.stats["best_value"], "ensemble": value}
    stats["gbm"] = trees.stats["gbm"]
    if post:
        stats["calibration"] = post
    log.info(f"model_type ensemble: validation {watch_output}.{watch_metric} nn {net.stats['best_value']:.4f}, "
             f"gbm {trees.stats['best_value']:.4f}, both {value:.4f}")
    result = TrainedModel(cfg, inputs, outputs, core, stats)
    result.parity_columns = val.raw_sample(PARITY_ROWS) or None
    if output is not None:
        result.save(output, parity_columns=result.parity_columns)
        log.info(f"wrote {output}")
    return result


def gbm_variant(cfg):
    """The gbm half of model_type auto: the same config with model_type gbm and every number input as a
    tree wants it (raw value, NaN kept; see config.gbm_number_defaults); text inputs left out."""
    from toolkit.ensemble import gbm_member_config

    return gbm_member_config(cfg, rename=False)


def run_auto(cfg, source, label: str, output=None, resume: bool = False, on_epoch=None,
             rows: int = readers.CHUNK_ROWS):
    """model_type auto: the neural model and the GBM on the same split, the better on the validation
    metric kept (its config, model_type resolved, is what the model directory holds). Text inputs or
    several processes: the neural model alone."""
    from toolkit.metrics import better

    nn_cfg = cfg.model_copy(update={"model_type": "nn"})
    if ddp.world_size() > 1 or not any(f.type != "text" for f in cfg.input_features):
        return run(nn_cfg, source, label, output, resume, on_epoch, rows)
    if resume:
        log.warn("--resume: model_type auto keeps no checkpoint; training both models again")
    started = time.perf_counter()
    found = {"nn": run(nn_cfg, source, label, None, False, on_epoch, rows),
             "gbm": run(gbm_variant(cfg), source, label, None, False, None, rows)}
    watch = ".".join(cfg.validation_metric())
    values = {k: m.stats["best_value"] for k, m in found.items()}
    chosen = "gbm" if better(cfg.validation_metric()[1], values["gbm"], values["nn"]) else "nn"
    result = found[chosen]
    result.stats["auto"] = {"validation_metric": watch, "nn": values["nn"], "gbm": values["gbm"],
                            "chosen": chosen, "nn_seconds": found["nn"].stats["total_seconds"],
                            "gbm_seconds": found["gbm"].stats["total_seconds"]}
    result.stats["total_seconds"] = time.perf_counter() - started
    log.info(f"model_type auto: validation {watch} nn {values['nn']:.4f}, gbm {values['gbm']:.4f} → {chosen}")
    if output is not None:
        result.save(output, parity_columns=result.parity_columns)
        log.info(f"wrote {output}")
    return result


def run(cfg, source, label: str, output=None, resume: bool = False, on_epoch=None,
        rows: int = readers.CHUNK_ROWS):
    """Train from `source` (readers.FrameSource or readers.Source); returns the TrainedModel (on every rank).

    Writes the model directory to `output` when given, with a checkpoint each
    epoch in `<output>.checkpoint/` (removed at the end); `resume` continues
    from it. `on_epoch(record)` sees each epoch's record (hyperopt pruning).
    """
    if cfg.model_type == "auto":
        return run_auto(cfg, source, label, output, resume, on_epoch, rows)
    if cfg.model_type == "ensemble":
        return run_ensemble(cfg, source, label, output, resume, on_epoch, rows)
    import torch

    from toolkit import checkpoint, epochs, trainer
    from toolkit.devices import pick_device, thread_count
    from toolkit.evaluation import evaluate
    from toolkit.model import TkModel
    from toolkit.preprocess import Preprocessor
    from toolkit.stream.dataset import wanted
    from toolkit.trained import TrainedModel

    started = time.perf_counter()
    tc = cfg.trainer
    ctx = ddp.setup(pick_device(tc.device))
    was_quiet = log.quiet
    log.quiet = was_quiet or not ctx.main  # only rank 0 logs (warnings too, where the loop can tell)
    try:
        inputs, outputs = prepare.make_features(cfg)
        if not source.whole:
            source.wanted = wanted(cfg, inputs, outputs)
        need = prepare.wanted_columns(cfg, True)
        if cfg.preprocessing.split.type == "fixed":
            need.setdefault(cfg.preprocessing.split.column, "preprocessing.split.column")
        source.check(need)
        if cfg.preprocessing.split.type == "stratified" and not source.whole and ctx.main:
            log.warn("streaming: a stratified split is drawn as a random (hashed) split")
        inputs, outputs, summary = fit_on_rank0(cfg, source, inputs, outputs, ctx, rows, label)
        log.info(f"{label}: {summary['rows']} rows{' streamed' if not source.whole else ''} → " + ", ".join(
            f"{k} {v}" for k, v in summary["rows_per_split"].items())
            + (f" over {ctx.world} processes" if ctx.world > 1 else ""))
        if output is not None:  # it will export: import torch.onnx now, while few modules are loaded
            import torch.onnx  # noqa: F401  (its custom-op registration walks sys.modules: 0.1 s here, 0.5 s later)

        torch.manual_seed(tc.seed)
        pre = Preprocessor(inputs, threads=tc.threads or (1 if ctx.world > 1 else None))
        splits = make_splits(cfg, source, inputs, outputs, pre, ctx, rows, summary, label)
        ckpt_dir = checkpoint.directory_for(Path(output)) if output is not None else None
        if cfg.model_type == "gbm":
            model, history = fit_gbm(cfg, inputs, outputs, splits, ctx)
        else:
            model = TkModel(inputs, outputs, cfg.combiner)
            torch.set_num_threads(thread_count(tc.threads, model))
            fp = checkpoint.fingerprint(render(cfg) + label + str(summary["rows"]))
            history = trainer.fit(model, outputs, splits["train"], splits["validation"], cfg, ctx,
                                  checkpoint_dir=ckpt_dir, resume=resume, config_fp=fp, on_epoch=on_epoch)
        val_answers = getattr(history, "best_predictions", None)  # the loop scored the best weights already
        post = fit_post(model, outputs, splits["validation"] if splits["validation"].rows else splits["train"], ctx,
                        val_answers)
        metrics = final_scores(model, outputs, splits, ctx, val_answers, tc.seed)
        if source.whole and splits["train"].rows > TRAIN_SCORE_ROWS:
            summary["train_rows_scored"] = TRAIN_SCORE_ROWS  # train metrics estimated on a seeded sample
        model.to("cpu")
        extra = {"processes": ctx.world} if not source.whole else {}
        stats = epochs.training_stats(cfg, history, metrics, summary | extra, started)
        if post:
            stats["calibration"] = post
        if cfg.model_type == "gbm":
            stats["gbm"] = {"boosters": model.gbm.stats, "gain": model.gbm.importances()}
        result = TrainedModel(cfg, inputs, outputs, model, stats)
        check = splits["validation"] if splits["validation"].rows else splits["train"]
        result.parity_columns = check.raw_sample(PARITY_ROWS) or None  # rows the export is checked on
        if not source.whole:
            for split_name, per_output in metrics.items():
                log.info(f"{split_name}: " + "; ".join(
                    f"{o} " + " ".join(f"{m} {v:.4f}" for m, v in ms.items()) for o, ms in per_output.items()))
        if output is not None and ctx.main:
            result.save(output, parity_columns=result.parity_columns)
            checkpoint.remove(ckpt_dir)
            log.info(f"wrote {output}")
        ddp.barrier(ctx)
        return result
    finally:
        log.quiet = was_quiet
        ddp.finish(ctx)
