"""api.train's streaming path: fit features in a pass, train over chunks, evaluate, save.

Chosen by api.train for a glob, a directory, files of at least TK_STREAM_BYTES
(readers.STREAM_BYTES), `stream=True`, or when launched with WORLD_SIZE > 1.
Rank 0 fits the features over all the data and sends their JSON state to the
other ranks (so every rank, and a 1-process run, has the same state); every
rank then trains on its shard; rank 0 alone logs, writes checkpoints and the
model directory, which is the same as an in-memory run's (model.onnx
included). On --resume rank 0 reads the checkpoint and sends it to the others.
"""

from __future__ import annotations

import time
from pathlib import Path

from toolkit import log, prepare
from toolkit.config import render
from toolkit.stream import ddp, readers
from toolkit.stream.dataset import StreamSplit, wanted

PARITY_ROWS = 2_000


def _fit_on_rank0(cfg, src, inputs, outputs, ctx, rows: int, label: str):
    """Fit on rank 0, share the states; a TkError on rank 0 is raised on every rank."""
    from toolkit.stream import fit

    def fit_all():
        summary = fit.fit_features(cfg, src, inputs, outputs, rows, label)
        return summary, {"inputs": {f.config.name: f.state() for f in inputs},
                         "outputs": {f.config.name: f.state() for f in outputs}}

    summary, states = ddp.on_rank0(ctx, fit_all)
    if not ctx.main:
        inputs = [type(f).from_state(f.config, states["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, states["outputs"][f.config.name]) for f in outputs]
    return inputs, outputs, summary


def train_stream(cfg, source, label: str, output=None, resume: bool = False, on_epoch=None,
                 rows: int = readers.CHUNK_ROWS):
    """Train from a streamed source; returns the TrainedModel (on every rank)."""
    import torch

    from toolkit import checkpoint, epochs, trainer
    from toolkit.model import TkModel
    from toolkit.preprocess import Preprocessor
    from toolkit.stream.loop import evaluate_stream, fit_stream
    from toolkit.trained import TrainedModel

    started = time.perf_counter()
    tc = cfg.trainer
    ctx = ddp.setup(trainer.pick_device(tc.device))
    was_quiet = log.quiet
    log.quiet = was_quiet or not ctx.main  # only rank 0 logs (warnings too, where the loop can tell)
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
                             cfg, ctx, has["train"], checkpoint_dir=ckpt_dir,
                             resume=resume, config_fp=fp, on_epoch=on_epoch)
        losses = [f.loss() for f in outputs]
        metrics = {name: evaluate_stream(model, outputs, losses, split, ctx)
                   for name, split in splits.items() if has[name]}
        stats = epochs.training_stats(cfg, history, metrics, summary | {"processes": ctx.world}, started)
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
        log.quiet = was_quiet
        ddp.finish(ctx)

