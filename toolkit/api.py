"""What the CLI and users call: train, load, predict, evaluate.

    model = train("cfg.yaml", "data.csv", output="runs/churn")
    model.predict(df)      → DataFrame: <out>::label, <out>::probability::<class> …
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

WEIGHTS = "model.safetensors"
FILES = ["config.yaml", "features.json", WEIGHTS, "training_stats.json"]


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


def train(config, dataset=None, output: str | Path | None = None) -> "TrainedModel":
    """Train from a config (YAML path, dict or Config) on a path or DataFrame.

    Writes the model directory to `output` when given. Returns the model.
    """
    from toolkit import data

    started = time.perf_counter()
    cfg, base = _config_and_base(config)
    source, label = _dataset(cfg, base, dataset)
    df = data.read_table(source)
    inputs, outputs = prepare.make_features(cfg)
    prep = prepare.prepare_training(cfg, df, label, inputs, outputs)
    log.info(f"{label}: {prep.summary['rows']} rows → " + ", ".join(
        f"{k} {v}" for k, v in prep.summary["rows_per_split"].items()))

    import torch

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
    history = trainer.fit(model, outputs, full.take(splits["train"]), full.take(splits["validation"]), cfg)

    losses = [f.loss() for f in outputs]
    metrics = {k: trainer.evaluate(model, outputs, losses, full.take(idx))
               for k, idx in splits.items() if len(idx)}
    stats = {
        "best_epoch": history.best_epoch,
        "validation_metric": ".".join(cfg.validation_metric()),
        "best_value": history.best_value,
        "stopped_early": history.stopped_early,
        "epochs": history.epochs,
        "metrics": metrics,
        "data": prep.summary,
        "train_seconds": history.seconds,
        "total_seconds": time.perf_counter() - started,
    }
    result = TrainedModel(cfg, inputs, outputs, model, stats)
    for split_name, per_output in metrics.items():
        log.info(f"{split_name}: " + "; ".join(
            f"{o} " + " ".join(f"{m} {v:.4f}" for m, v in ms.items()) for o, ms in per_output.items()))
    if output is not None:
        result.save(output)
        log.info(f"wrote {output}")
    return result


def load(path: str | Path) -> "TrainedModel":
    """Load a model directory written by `train`, verifying its manifest."""
    import yaml

    files = artifact.read_model_dir(Path(path), FILES)
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
    return TrainedModel(cfg, inputs, outputs, None, stats, weights=files[WEIGHTS])


class TrainedModel:
    """A trained model: config, fitted features, torch weights, training stats."""

    def __init__(self, config: Config, inputs, outputs, model, stats: dict, weights: bytes | None = None):
        self.config, self.inputs, self.outputs, self.stats = config, inputs, outputs, stats
        self._model, self._weights, self._pre = model, weights, None

    @property
    def model(self):
        """The torch module (built from the saved weights on first use)."""
        if self._model is None:
            from safetensors.torch import load as load_weights

            from toolkit.model import TkModel

            model = TkModel(self.inputs, self.outputs, self.config.combiner)
            try:
                model.load_state_dict(load_weights(self._weights))
            except (RuntimeError, KeyError) as e:
                raise TkError(f"{WEIGHTS}: weights do not fit the config: {str(e).splitlines()[0]}") from None
            self._model = model.eval()
        return self._model

    @property
    def preprocessor(self):
        if self._pre is None:
            from toolkit.preprocess import Preprocessor

            self._pre = Preprocessor(self.inputs, threads=self.config.trainer.threads)
        return self._pre

    def _raw_outputs(self, df, source: str) -> list[np.ndarray]:
        import torch

        from toolkit import data, trainer

        data.check_columns(df, prepare.wanted_columns(self.config, False), source)
        pre = self.preprocessor.transform(prepare.input_columns(self.inputs, df, source))
        x = [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in self.inputs]
        return trainer.predict_raw(self.model, x)

    def predict(self, dataset, source: str = "data"):
        """Predictions for a DataFrame or path: one row per input row, in order.

        Columns per output: `<name>::label` (or `<name>::value` for numbers)
        and `<name>::probability::<class>` for each class.
        """
        import pandas as pd

        from toolkit import data

        df = data.read_table(dataset)
        source = str(dataset) if not isinstance(dataset, pd.DataFrame) else source
        cols: dict[str, np.ndarray] = {}
        for f, raw in zip(self.outputs, self._raw_outputs(df, source)):
            out = f.predict(raw)
            if "value" in out:
                cols[f"{f.config.name}::value"] = out["value"]
                continue
            cols[f"{f.config.name}::label"] = out["label"]
            for k, cls in enumerate(f.classes):
                cols[f"{f.config.name}::probability::{cls}"] = out["probabilities"][:, k]
        return pd.DataFrame(cols, index=df.index)

    def evaluate(self, dataset, source: str = "data") -> dict[str, dict[str, float]]:
        """Metrics per output on rows that have a target: {"churn": {"roc_auc": …}}."""
        import pandas as pd

        from toolkit import data

        df = data.read_table(dataset)
        source = str(dataset) if not isinstance(dataset, pd.DataFrame) else source
        data.check_columns(df, prepare.wanted_columns(self.config, True), source)
        raw = self._raw_outputs(df, source)
        result = {}
        for f, out in zip(self.outputs, raw):
            y = f.encode_target(data.raw_column(df, f.config.source, f.raw_dtype, source))
            keep = ~np.isnan(y)
            if not keep.any():
                raise TkError(f"{source}: column {f.config.source!r}: no row has a known target value")
            if (~keep).sum():
                log.warn(f"{source}: {int((~keep).sum())} row(s) without a known {f.config.name!r} "
                         "target left out")
            import torch

            y_t, out_t = torch.from_numpy(y[keep]), torch.from_numpy(out[keep])
            with torch.no_grad():
                loss = float(f.loss()(out_t, y_t))
            result[f.config.name] = {"loss": loss, **f.metrics(y[keep], out[keep])}
        return result

    def save(self, path: str | Path) -> None:
        """Write the model directory atomically (see toolkit.artifact)."""
        from safetensors.torch import save as save_weights

        state = {"inputs": {f.config.name: f.state() for f in self.inputs},
                 "outputs": {f.config.name: f.state() for f in self.outputs},
                 "raw_inputs": prepare.describe_raw(self.inputs)}
        weights = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        files = {
            "config.yaml": render(self.config).encode(),
            "features.json": json.dumps(state, indent=1).encode(),
            WEIGHTS: save_weights(weights),
            "training_stats.json": json.dumps(self.stats, indent=1, default=float).encode(),
        }
        artifact.write_model_dir(Path(path), files)
