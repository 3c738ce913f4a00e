"""api.train's streaming path: fit features in a pass, train over chunks, evaluate, save.

Chosen by api.train for a glob, a directory, files of at least TK_STREAM_BYTES
(readers.STREAM_BYTES), `stream=True`, or when launched with WORLD_SIZE > 1.
Rank 0 fits the features over all the data and sends their JSON state to the
other ranks (so every rank, and a 1-process run, has the same state); every
rank then trains on its shard; rank 0 alone writes checkpoints and the model
directory, which is the same as an in-memory run's (model.onnx included).
"""

from __future__ import annotations

import time
from pathlib import Path

from toolkit import log, prepare
from toolkit.config import render
from toolkit.errors import TkError
from toolkit.stream import ddp, readers
from toolkit.stream.dataset import StreamSplit, wanted

PARITY_ROWS = 2_000


def _fit_on_rank0(cfg, src, inputs, outputs, ctx, rows: int, label: str):
    """Fit on rank 0, share the states; a TkError on rank 0 is raised on every rank."""
    from toolkit.stream import fit

    message, states, summary = None, None, None
    if ctx.main:
        try:
            summary = fit.fit_features(cfg, src, inputs, outputs, rows, label)
            states = {"inputs": {f.config.name: f.state() for f in inputs},
                      "outputs": {f.config.name: f.state() for f in outputs}}
        except TkError as e:
            message = str(e)
    message, states, summary = ddp.broadcast(ctx, (message, states, summary))
    if message is not None:
        raise TkError(message) if ctx.main else SystemExit(2)
    if not ctx.main:
        inputs = [type(f).from_state(f.config, states["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, states["outputs"][f.config.name]) for f in outputs]
    return inputs, outputs, summary


def train_stream(cfg, source, label: str, output=None, resume: bool = False, on_epoch=None,
                 rows: int = readers.CHUNK_ROWS):
    """Train from a streamed source; returns the TrainedModel (on every rank)."""
    import torch

    from toolkit import checkpoint, trainer
    from toolkit.model import TkModel
    from toolkit.preprocess import Preprocessor
    from toolkit.stream.loop import evaluate_stream, fit_stream
    from toolkit.trained import TrainedModel

    started = time.perf_counter()
    tc = cfg.trainer
    ctx = ddp.setup(trainer.pick_device(tc.device))
    try:
        inputs, outputs = prepare.make_features(cfg)
        src = readers.Source(source, wanted(cfg, inputs, outputs))
        need = prepare.wanted_columns(cfg, True)
        if cfg.preprocessing.split.type == "fixed":
            need.setdefault(cfg.preprocessing.split.column, "preprocessing.split.column")
        src.check(need)
        if cfg.preprocessing.split.type == "stratified" and ctx.main:
            log.warn("streaming: a stratified split is drawn as a random (hashed) split")
        inputs, outputs, summary = _fit_on_rank0(cfg, src, inputs, outputs, ctx, rows, label)
        if ctx.main:
            log.info(f"{label}: {summary['rows']} rows streamed → " + ", ".join(
                f"{k} {v}" for k, v in summary["rows_per_split"].items())
                + (f" over {ctx.world} processes" if ctx.world > 1 else ""))

        torch.manual_seed(tc.seed)
        pre = Preprocessor(inputs, threads=tc.threads or (1 if ctx.world > 1 else None))
        model = TkModel(inputs, outputs, cfg.combiner)
        torch.set_num_threads(trainer.thread_count(tc.threads, model))
        splits = {name: StreamSplit(cfg, src, inputs, outputs, pre, k, ctx.rank, ctx.world, rows, label)
                  for k, name in enumerate(prepare.SPLITS)}
        has = summary["rows_per_split"]
        ckpt_dir = checkpoint.directory_for(Path(output)) if output is not None else None
        fp = checkpoint.fingerprint(render(cfg) + label + str(summary["rows"]))
        history = fit_stream(model, outputs, splits["train"], splits["validation"] if has["validation"] else None,
                             cfg, ctx, has["train"], checkpoint_dir=ckpt_dir if ctx.main else None,
                             resume=resume, config_fp=fp, on_epoch=on_epoch)
        losses = [f.loss() for f in outputs]
        metrics = {name: evaluate_stream(model, outputs, losses, split, ctx)
                   for name, split in splits.items() if has[name]}
        stats = {
            "best_epoch": history.best_epoch,
            "validation_metric": ".".join(cfg.validation_metric()),
            "best_value": history.best_value,
            "stopped_early": history.stopped_early,
            "epochs": history.epochs,
            "metrics": metrics,
            "data": summary | {"processes": ctx.world},
            "train_seconds": history.seconds,
            "total_seconds": time.perf_counter() - started,
        }
        result = TrainedModel(cfg, inputs, outputs, model, stats)
        if ctx.main:
            for split_name, per_output in metrics.items():
                log.info(f"{split_name}: " + "; ".join(
                    f"{o} " + " ".join(f"{m} {v:.4f}" for m, v in ms.items()) for o, ms in per_output.items()))
        if output is not None and ctx.main:
            check = StreamSplit(cfg, src, inputs, outputs, pre, 1 if has["validation"] else 0, 0, 1, rows, label)
            parity = next(iter(check.raw_parts()), None)
            result.save(output, parity_columns={c: v[:PARITY_ROWS] for c, v in parity.columns.items()}
                        if parity is not None else None)
            checkpoint.remove(ckpt_dir)
            log.info(f"wrote {output}")
        ddp.barrier(ctx)
        return result
    finally:
        ddp.finish(ctx)

