"""Bodies of the CLI commands that do more than one call: output formatting and files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError


def _require_dataset(dataset):
    if dataset is None:
        raise TkError("--dataset is required")
    return dataset


def evaluate(model_dir: Path, dataset: Path | None, as_json: bool, engine: str = "onnx") -> None:
    from toolkit import api

    model = api.load(model_dir)
    metrics = model.evaluate(_require_dataset(dataset), engine=engine)
    if as_json:
        print(json.dumps(metrics, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{model_dir} on {dataset}")
    table.add_column("output")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for out, ms in metrics.items():
        for name, value in ms.items():
            table.add_row(out, name, f"{value:.4f}")
    from rich.console import Console

    Console().print(table)


def write_table(df, output: Path | None) -> None:
    """Write a DataFrame by suffix (csv, tsv, parquet, jsonl) atomically, or CSV to stdout."""
    import sys

    if output is None:
        df.to_csv(sys.stdout, index=False)
        return
    suffix = output.suffix.lower()
    writers = {
        ".csv": lambda p: df.to_csv(p, index=False),
        ".tsv": lambda p: df.to_csv(p, sep="\t", index=False),
        ".parquet": lambda p: df.to_parquet(p, index=False),
        ".jsonl": lambda p: df.to_json(p, orient="records", lines=True, force_ascii=False),
    }
    if suffix not in writers:
        raise TkError(f"--output {output}: unknown file type {suffix!r}; use one of {', '.join(writers)}")
    if output.is_dir():
        raise TkError(f"--output {output}: is a directory; give a file path")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        writers[suffix](tmp)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def predict(
    model_dir: Path,
    dataset: Path | None,
    output: Path | None,
    keep: str | None,
    engine: str = "onnx",
    chunk_rows: int | None = None,
    explain: bool = False,
) -> None:
    """Predictions to `output`; a glob, a directory, a large file or `chunk_rows` streams in chunks.
    `explain`: the attributions beside them (`<output>::why::<input>`)."""
    from toolkit import api
    from toolkit.data import readers
    from toolkit.data import tables as data
    from toolkit.runtime import explanations

    if chunk_rows is not None and chunk_rows < 1:
        raise TkError(f"--chunk-rows: must be >= 1, got {chunk_rows}")
    if chunk_rows or readers.should_stream(_require_dataset(dataset)):
        from toolkit.pipeline.predict_stream import ChunkWriter, predict_stream

        ChunkWriter(output)  # refuse a bad --output before any work
        model = api.load(model_dir)
        cols = [c.strip() for c in keep.split(",") if c.strip()] if keep else []
        if explain:
            explanations.info(model.predictor.metadata, model_dir / "model.onnx", model_dir)  # TkError before any work
        predict_stream(model, dataset, output, cols, engine, chunk_rows or readers.CHUNK_ROWS, explain)
        return
    model = api.load(model_dir)
    if explain:
        explanations.info(model.predictor.metadata, model_dir / "model.onnx", model_dir)
    df = data.read_table(_require_dataset(dataset))
    preds = model.predict(df, source=str(dataset), engine=engine)
    if explain:
        preds = preds.join(model.explain(df, source=str(dataset)))
    if keep:
        cols = [c.strip() for c in keep.split(",") if c.strip()]
        data.check_columns(df, {c: "--keep" for c in cols}, str(dataset))
        preds = df[cols].join(preds)
    write_table(preds, output)
    if output is not None:
        log.info(f"wrote {len(preds)} predictions to {output}")


def train_processes(config: Path, dataset: Path | None, output: Path, quiet: bool, resume: bool, nproc: int) -> None:
    """`tk train --nproc N`: N DDP workers on this machine through torch's elastic launcher."""
    from toolkit.config.schema import load_config
    from toolkit.training import ddp

    if nproc < 1:
        raise TkError(f"--nproc: must be >= 1, got {nproc}")
    if ddp.world_size() > 1:
        raise TkError("--nproc: this process is already one of a torchrun launch; drop --nproc")
    load_config(config)  # a bad config is one line here, not one per worker
    args = ["train", str(config), "--output", str(output)]
    args += ["--dataset", str(dataset)] if dataset is not None else []
    args += ["--resume"] if resume else []
    args += ["--quiet"] if quiet else []
    ddp.launch(nproc, args)
    log.info(f"wrote {output} (trained by {nproc} processes)")


def init_config(dataset: Path, targets: list[str], output: Path | None) -> None:
    from toolkit.config import guess as infer

    text = infer.config_yaml(dataset, targets, relative_to=output.parent if output else None)
    if output is None:
        print(text, end="")
        return
    from toolkit.runtime.model_dir import atomic_write

    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(output, text.encode())
    log.info(f"wrote {output}")


def rebuild(model_dir: Path, dataset: Path | None) -> None:
    """`tk export DIR --rebuild`: model.onnx of the model directory built again from its saved core, with
    what this tk writes (explanations), parity-checked; no retraining. A model directory of an older tk has
    no background rows for the attributions: `--dataset` gives them (else one row of missing values)."""
    from toolkit import api
    from toolkit.data import tables as data
    from toolkit.export.explain import background_columns
    from toolkit.features import columns as prepare

    model = api.load(model_dir)
    columns = None
    if dataset is not None:
        df = data.read_table(dataset)
        data.check_columns(df, prepare.wanted_columns(model.config, False), str(dataset))
        columns = prepare.input_columns(model.inputs, df.head(2_000), str(dataset))
        if model.explain_columns is None:
            model.explain_columns = background_columns(columns)
    model._onnx = None  # built again on save
    model.save(model_dir, parity_columns=columns)
    log.info(f"rebuilt {model_dir / 'model.onnx'} ({len(model.onnx_bytes) / 1024:.1f} KiB)")


def export_onnx(
    model_dir: Path, path: Path | None, opset: int, quantize: str | None, exporter: str, dataset: Path | None
) -> None:
    """`tk export DIR --onnx PATH`: rebuild, parity-check, optionally quantize, write atomically."""
    from toolkit import api
    from toolkit.data import tables as data
    from toolkit.runtime.model_dir import atomic_write

    if path is None:
        raise TkError("tk export: say where: --onnx PATH")
    if path.is_dir():
        raise TkError(f"--onnx {path}: is a directory; give a file path")
    refuse_inside_model_dir("--onnx", path)
    if opset != 20:
        raise TkError(f"--opset: tk writes opset 20 (its preprocessing ops are proven there), got {opset}")
    if quantize not in (None, "int8"):
        raise TkError(f"--quantize: only int8 is supported, got {quantize!r}")
    model = api.load(model_dir)
    columns = None
    df = None
    if dataset is not None:
        from toolkit.features import columns as prepare

        df = data.read_table(dataset)
        data.check_columns(df, prepare.wanted_columns(model.config, False), str(dataset))
        columns = prepare.input_columns(model.inputs, df.head(2_000), str(dataset))
    full, report = model.to_onnx(exporter, columns)
    log.info(report.summary())
    if quantize:
        full = _quantize_and_report(model, full, df, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, full.SerializeToString())
    log.info(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")


def refuse_inside_model_dir(option: str, path: Path) -> None:
    """A TkError when `path` is inside a tk model directory: a file written there breaks its manifest
    (or is lost when the directory is replaced by the next `tk train`)."""
    from toolkit.runtime.model_dir import model_dir_of

    folder = model_dir_of(Path(path).parent)
    if folder is not None:
        raise TkError(
            f"{option} {path}: is inside the model directory {folder} (its manifest would no longer "
            "match, or the next save would delete it); write it somewhere else"
        )


def _quantize_and_report(model, full, df, dataset):
    """int8 weights; prints size and (with a labelled --dataset) the change in metrics."""
    import numpy as np

    from toolkit.export import onnx as onnx_export
    from toolkit.runtime.predictor import Predictor

    q = onnx_export.quantize_int8(full)
    before, after = len(full.SerializeToString()), len(q.SerializeToString())
    log.info(f"quantized int8: {before / 1024:.1f} KiB → {after / 1024:.1f} KiB")
    if df is not None and all(o.config.source in df.columns for o in model.outputs):
        from toolkit.data import tables as data

        for name, proto in (("float32", full), ("int8", q)):
            p = Predictor(proto.SerializeToString())
            outs = p.run(df)
            for o in model.outputs:
                y = o.encode_target(data.raw_column(df, o.config.source, o.raw_dtype, str(dataset)))
                keep = ~np.isnan(y) if y.ndim == 1 else ~np.isnan(y).any(axis=1)
                scores = o.score(y[keep], {k: v[keep] for k, v in outs.items()})
                log.info(f"{name} {o.config.name}: " + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    else:
        log.info("pass a labelled --dataset to see the change in metrics")
    return q
