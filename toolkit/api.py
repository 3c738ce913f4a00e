"""What the CLI and users call: train, load, predict, evaluate.

model = train("cfg.yaml", "data.csv", output="runs/churn")
model.predict(df)      → DataFrame: <out>::label, <out>::probability::<class> …
                         (through model.onnx in onnxruntime; engine="torch" for debugging)
model.evaluate(df)     → {"churn": {"roc_auc": …, "accuracy": …}}
model = load("runs/churn")
"""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.config import plugins
from toolkit.config.schema import Config, load_config, validate_config
from toolkit.errors import TkError
from toolkit.models import kind_of
from toolkit.pipeline.trained import EXPLAIN, FILES, ONNX, TrainedModel
from toolkit.runtime import model_dir as artifact
from toolkit.testing.plugins import refuse_broken_plugins


def config_and_base(config) -> tuple[Config, Path]:
    if isinstance(config, Config):
        return config, Path.cwd()
    if isinstance(config, dict):
        return load_config(config), Path.cwd()
    return load_config(config), Path(config).resolve().parent


def dataset_of(cfg: Config, base: Path, dataset):
    """(the dataset to read: `dataset`, else the config's `dataset:` under `base`; a label for messages)."""
    if dataset is not None:
        return dataset, str(dataset) if not hasattr(dataset, "columns") else "DataFrame"
    if cfg.dataset is None:
        raise TkError("no dataset: pass --dataset (or a DataFrame) or set `dataset:` in the config")
    path = (base / cfg.dataset) if not Path(cfg.dataset).is_absolute() else Path(cfg.dataset)
    return path, str(path)


def train(
    config,
    dataset=None,
    *,
    output: str | Path | None = None,
    resume: bool = False,
    on_epoch=None,
    stream: bool | None = None,
    chunk_rows: int | None = None,
) -> "TrainedModel":
    """Train from a config (YAML path, dict or Config) on a path or DataFrame.

    Writes the model directory to `output` when given, with a checkpoint each
    epoch in `<output>.checkpoint/` (removed at the end); `resume` continues
    from that checkpoint after an interruption. `on_epoch(record)` sees each
    epoch's record (hyperopt pruning uses it). Returns the model.

    A DataFrame and files under TK_STREAM_BYTES are read into memory (one
    chunk); a glob, a directory, bigger files, `stream=True` or a torchrun
    launch (WORLD_SIZE > 1) are streamed in chunks of `chunk_rows` rows. Both
    take the same path: toolkit.pipeline.run.run.
    """
    from toolkit.data import readers
    from toolkit.data import tables as data
    from toolkit.pipeline import run as training
    from toolkit.training import ddp

    cfg, base = config_and_base(config)
    cfg = plugins.naming_its_plugins(cfg)  # config.yaml names the plugins (entry points too) it needs
    if output is not None:  # a refused --output is said before training, not after it
        artifact.check_output_dir(Path(output))
    source, label = dataset_of(cfg, base, dataset)
    if (
        not hasattr(source, "columns")
        and stream is not False
        and (stream or readers.should_stream(source) or ddp.world_size() > 1)
    ):
        source = readers.Source(source)
    else:
        source = readers.FrameSource(data.read_table(source), label)
    refuse_broken_plugins(cfg, source)  # a plugin's type, encoder or loss meets check_feature, or no training
    return training.run(
        cfg, source, label, output=output, resume=resume, on_epoch=on_epoch, rows=chunk_rows or readers.CHUNK_ROWS
    )


def load(path: str | Path) -> "TrainedModel":
    """Load a model directory written by `train`, verifying its manifest."""
    import yaml

    listed = artifact.manifest_files(Path(path))
    first = artifact.read_model_dir(Path(path), ["config.yaml"])
    try:
        cfg = validate_config(yaml.safe_load(first["config.yaml"]), f"{path}/config.yaml")
    except (ValueError, yaml.YAMLError) as e:
        raise TkError(f"{path}: damaged model directory: {e}") from None
    kind = kind_of(cfg.model_type)
    names = FILES + list(kind.file_names) + [n for n in (ONNX, EXPLAIN) if n in listed]
    files = artifact.read_model_dir(Path(path), names)
    try:
        state = json.loads(files["features.json"])
        stats = json.loads(files["training_stats.json"])
    except ValueError as e:
        raise TkError(f"{path}: damaged model directory: {e}") from None
    inputs, outputs = kind.make_features(cfg)
    try:
        inputs = [type(f).from_state(f.config, state["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, state["outputs"][f.config.name]) for f in outputs]
    except KeyError as e:
        raise TkError(f"{path}/features.json: no state for {e}") from None
    from toolkit.export.explain import background_from_json

    background = background_from_json(files[EXPLAIN], f"{path}/{EXPLAIN}") if EXPLAIN in files else None
    return TrainedModel(
        cfg,
        inputs,
        outputs,
        None,
        stats,
        core_files={n: files[n] for n in kind.file_names},
        onnx=files.get(ONNX),
        explain_columns=background,
    )


__all__ = ["train", "load", "TrainedModel"]
