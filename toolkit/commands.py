"""Bodies of the CLI commands that do more than one call: output formatting and files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from toolkit import log
from toolkit.errors import TkError


def _require_dataset(dataset):
    if dataset is None:
        raise TkError("--dataset is required")
    return dataset


def evaluate(model_dir: Path, dataset: Path | None, as_json: bool) -> None:
    from toolkit import api

    model = api.load(model_dir)
    metrics = model.evaluate(_require_dataset(dataset))
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
    writers = {".csv": lambda p: df.to_csv(p, index=False), ".tsv": lambda p: df.to_csv(p, sep="\t", index=False),
               ".parquet": lambda p: df.to_parquet(p, index=False),
               ".jsonl": lambda p: df.to_json(p, orient="records", lines=True, force_ascii=False)}
    if suffix not in writers:
        raise TkError(f"--output {output}: unknown file type {suffix!r}; use one of {', '.join(writers)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        writers[suffix](tmp)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def predict(model_dir: Path, dataset: Path | None, output: Path | None, keep: str | None) -> None:
    from toolkit import api, data

    model = api.load(model_dir)
    df = data.read_table(_require_dataset(dataset))
    preds = model.predict(df, source=str(dataset))
    if keep:
        cols = [c.strip() for c in keep.split(",") if c.strip()]
        data.check_columns(df, {c: "--keep" for c in cols}, str(dataset))
        preds = df[cols].join(preds)
    write_table(preds, output)
    if output is not None:
        log.info(f"wrote {len(preds)} predictions to {output}")


def init_config(dataset: Path, targets: list[str], output: Path | None) -> None:
    from toolkit import infer

    text = infer.config_yaml(dataset, targets, relative_to=output.parent if output else None)
    if output is None:
        print(text, end="")
        return
    from toolkit.artifact import atomic_write

    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(output, text.encode())
    log.info(f"wrote {output}")
