"""What the CLI and users call: train, load, predict, evaluate.

    model = train("cfg.yaml", "data.csv", output="runs/churn")
    model.predict(df)      → DataFrame: <out>::label, <out>::probability::<class> …
                             (through model.onnx in onnxruntime; engine="torch" for debugging)
    model.evaluate(df)     → {"churn": {"roc_auc": …, "accuracy": …}}
    model = load("runs/churn")
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from toolkit import artifact, log, prepare
from toolkit.config import Config, load_config, render, validate_config
from toolkit.errors import TkError
from toolkit.trained import FILES, ONNX, WEIGHTS, TrainedModel

PARITY_ROWS = 2_000


def _config_and_base(config) -> tuple[Config, Path]:
    if isinstance(config, Config):
        return config, Path.cwd()
    if isinstance(config, dict):
        return load_config(config), Path.cwd()
    return load_config(config), Path(config).resolve().parent


def _dataset(cfg: Config, base: Path, dataset):
    if dataset is not None:
        return dataset, str(dataset) if not hasattr(dataset, "columns") else "DataFrame"
    if cfg.dataset is None:
        raise TkError("no dataset: pass --dataset (or a DataFrame) or set `dataset:` in the config")
    path = (base / cfg.dataset) if not Path(cfg.dataset).is_absolute() else Path(cfg.dataset)
    return path, str(path)


def train(config, dataset=None, output: str | Path | None = None, resume: bool = False,
          on_epoch=None, stream: bool | None = None, chunk_rows: int | None = None) -> "TrainedModel":
    """Train from a config (YAML path, dict or Config) on a path or DataFrame.

    Writes the model directory to `output` when given, with a checkpoint each
    epoch in `<output>.checkpoint/` (removed at the end); `resume` continues
    from that checkpoint after an interruption. `on_epoch(record)` is passed
    to `trainer.fit` (hyperopt pruning uses it). Returns the model.

    A glob, a directory, files of at least TK_STREAM_BYTES, `stream=True` or a
    torchrun launch (WORLD_SIZE > 1) take the streaming path
    (toolkit.stream.train: bounded memory, DDP-aware; `chunk_rows` rows per
    chunk); a DataFrame and smaller files are read into memory.
    """
    from toolkit import data
    from toolkit.stream import ddp, readers

    started = time.perf_counter()
    cfg, base = _config_and_base(config)
    source, label = _dataset(cfg, base, dataset)
    if not hasattr(source, "columns") and stream is not False and (
            stream or readers.should_stream(source) or ddp.world_size() > 1):
        from toolkit.stream.train import train_stream

        return train_stream(cfg, source, label, output, resume, on_epoch, rows=chunk_rows or readers.CHUNK_ROWS)
    df = data.read_table(source)
    inputs, outputs = prepare.make_features(cfg)
    prep = prepare.prepare_training(cfg, df, label, inputs, outputs)
    log.info(f"{label}: {prep.summary['rows']} rows → " + ", ".join(
        f"{k} {v}" for k, v in prep.summary["rows_per_split"].items()))

    import torch

    if output is not None:  # it will export: import torch.onnx now, while few modules are loaded
        import torch.onnx  # noqa: F401  (its custom-op registration walks sys.modules via inspect.getmodule:
        #                     0.1 s here, 0.4-0.7 s once sklearn and scipy are in)

    from toolkit import trainer
    from toolkit.model import TkModel
    from toolkit.preprocess import Preprocessor

    tc = cfg.trainer
    torch.manual_seed(tc.seed)
    pre = Preprocessor(inputs, threads=tc.threads).transform(prep.columns)
    x = [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in inputs]
    y = [torch.from_numpy(prep.targets[f.config.name]) for f in outputs]
    splits = {k: torch.from_numpy(np.flatnonzero(prep.split == i)) for i, k in enumerate(prepare.SPLITS)}
    full = trainer.Batches(x, y)
    model = TkModel(inputs, outputs, cfg.combiner)
    torch.set_num_threads(trainer.thread_count(tc.threads, model))
    from toolkit import checkpoint

    ckpt_dir = checkpoint.directory_for(Path(output)) if output is not None else None
    fp = checkpoint.fingerprint(render(cfg) + label + str(prep.summary["rows"]))
    history = trainer.fit(model, outputs, full.take(splits["train"]), full.take(splits["validation"]), cfg,
                          checkpoint_dir=ckpt_dir, resume=resume, config_fp=fp,
                          on_epoch=on_epoch)

    losses = [f.loss() for f in outputs]
    metrics = {k: trainer.evaluate(model, outputs, losses, full.take(idx))
               for k, idx in splits.items() if len(idx)}
    from toolkit.epochs import training_stats

    stats = training_stats(cfg, history, metrics, prep.summary, started)
    result = TrainedModel(cfg, inputs, outputs, model, stats)
    if output is not None:
        check_rows = np.flatnonzero(prep.split == 1)[:PARITY_ROWS]
        result.save(output, parity_columns={c: v[check_rows] for c, v in prep.columns.items()})
        checkpoint.remove(ckpt_dir)
        log.info(f"wrote {output}")
    return result


def load(path: str | Path) -> "TrainedModel":
    """Load a model directory written by `train`, verifying its manifest."""
    import yaml

    names = FILES + ([ONNX] if ONNX in artifact.manifest_files(Path(path)) else [])
    files = artifact.read_model_dir(Path(path), names)
    try:
        cfg = validate_config(yaml.safe_load(files["config.yaml"]), f"{path}/config.yaml")
        state = json.loads(files["features.json"])
        stats = json.loads(files["training_stats.json"])
    except (ValueError, yaml.YAMLError) as e:
        raise TkError(f"{path}: damaged model directory: {e}") from None
    inputs, outputs = prepare.make_features(cfg)
    try:
        inputs = [type(f).from_state(f.config, state["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, state["outputs"][f.config.name]) for f in outputs]
    except KeyError as e:
        raise TkError(f"{path}/features.json: no state for {e}") from None
    return TrainedModel(cfg, inputs, outputs, None, stats, weights=files[WEIGHTS], onnx=files.get(ONNX))


__all__ = ["train", "load", "TrainedModel"]
