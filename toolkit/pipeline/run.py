"""One training run, whatever the data and the model kind: the kind trains, the model directory is written.

    source = readers.FrameSource(df) | readers.Source("data/*.parquet")   # a table in memory is one chunk
    result = run(cfg, source, label, output="runs/x")                    # a TrainedModel, on every rank

The model kind (toolkit.models, chosen by `model_type`) decides how: a single
kind lets toolkit.training.single fit features, split, train its core and score;
a composite kind (ensemble, auto) trains members that way and combines them.
Here the result is wrapped as a TrainedModel and, when `output` is given, its
directory is written (model.onnx included, parity-checked) and the checkpoints
removed. With several processes only rank 0 writes.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.common import log
from toolkit.data import readers


def run(cfg, source, label: str, *, output=None, resume: bool = False, on_epoch=None, rows: int = readers.CHUNK_ROWS):
    """Train from `source` (readers.FrameSource or readers.Source); returns the TrainedModel (on every rank).

    Writes the model directory to `output` when given, with a checkpoint each
    epoch in `<output>.checkpoint/` (removed at the end); `resume` continues
    from it. `on_epoch(record)` sees each epoch's record (hyperopt pruning).
    """
    from toolkit.export.explain import background_columns
    from toolkit.models import kind_of
    from toolkit.pipeline.trained import TrainedModel
    from toolkit.training import checkpoint
    from toolkit.training.job import TrainJob
    from toolkit.training.single import fit_single

    job = TrainJob(
        cfg,
        source,
        label,
        output=Path(output) if output is not None else None,
        resume=resume,
        on_epoch=on_epoch,
        rows=rows,
    )
    fitted = kind_of(cfg.model_type).train(job, fit_single)
    result = TrainedModel(fitted.config, fitted.inputs, fitted.outputs, fitted.core, fitted.stats)
    result.parity_columns = fitted.parity_columns  # rows the export is checked on
    result.explain_columns = background_columns(fitted.parity_columns)  # validation values, column by column
    if output is not None and fitted.writes:
        result.save(output, parity_columns=result.parity_columns)
        if fitted.checkpoint_dir is not None:
            checkpoint.remove(fitted.checkpoint_dir)
        log.info(f"wrote {output}")
    return result
