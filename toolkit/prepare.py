"""From a config and a table to fitted features and model-ready arrays.

Order matters and follows scikit-learn's discipline:
  1. pull each configured column out of the table, coerced to its raw dtype;
  2. drop rows with a missing target (counted and reported);
  3. split rows into train / validation / test;
  4. fit every feature on the training rows only;
  5. encode targets; preprocessing of inputs runs later in onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit import data, log
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features.base import RAW_FLOAT

SPLITS = ("train", "validation", "test")


def make_features(cfg):
    """Unfitted feature objects for the config's inputs and outputs, in order."""
    inputs = [INPUT_FEATURES[fc.type](fc) for fc in cfg.input_features]
    outputs = [OUTPUT_FEATURES[fc.type](fc) for fc in cfg.output_features]
    return inputs, outputs


def wanted_columns(cfg, with_targets: bool) -> dict[str, str]:
    """Column → where the config names it, for 'no such column' messages."""
    wanted = {fc.source: f"input_features[{i}]" for i, fc in enumerate(cfg.input_features)}
    if with_targets:
        wanted |= {fc.source: f"output_features[{i}]" for i, fc in enumerate(cfg.output_features)}
    return wanted


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a raw value is missing: NaN for floats, "" for strings."""
    return np.isnan(values) if values.dtype.kind == "f" else values == ""


def input_columns(inputs, df, source: str, strict: bool = False) -> dict[str, np.ndarray]:
    """Raw input columns {column: [N]} coerced for the preprocessing graph (see data.raw_column)."""
    cols: dict[str, np.ndarray] = {}
    for f in inputs:
        col = f.config.source
        if col not in cols:
            cols[col] = data.raw_column(df, col, f.raw_dtype, source, strict)
    return cols


def target_columns(outputs, df, source: str) -> dict[str, np.ndarray]:
    """Raw target columns {output name: [N]}."""
    return {f.config.name: data.raw_column(df, f.config.source, f.raw_dtype, source) for f in outputs}


@dataclass
class Prepared:
    """Everything training needs, for the rows kept (missing targets dropped)."""

    columns: dict[str, np.ndarray]   # raw input columns [N]
    targets: dict[str, np.ndarray]   # encoded targets [N] (NaN where unknown)
    split: np.ndarray                # int8 [N]: 0 train, 1 validation, 2 test
    summary: dict                    # rows, dropped, missing per column


def prepare_training(cfg, df, source: str, inputs, outputs) -> Prepared:
    """Extract, drop, split, fit features in place, encode targets."""
    data.check_columns(df, wanted_columns(cfg, True), source)
    columns = input_columns(inputs, df, source)
    raw_targets = target_columns(outputs, df, source)
    split_all = None
    if cfg.preprocessing.split.type == "fixed":
        split_all = data.split_rows(df, cfg.preprocessing.split, None, source)

    keep = np.ones(len(df), dtype=bool)
    for f in outputs:
        raw = raw_targets[f.config.name]
        miss = f.missing(raw) if hasattr(f, "missing") else missing_mask(raw)  # a set's "" is the empty set
        if miss.all():
            raise TkError(f"{source}: column {f.config.source!r} (output feature {f.config.name!r}): "
                          "every target value is missing")
        keep &= ~miss
    dropped = int((~keep).sum())
    if dropped:
        log.warn(f"{source}: dropped {dropped} row(s) with a missing target")
    columns = {c: v[keep] for c, v in columns.items()}
    raw_targets = {k: v[keep] for k, v in raw_targets.items()}

    if split_all is not None:
        split = split_all[keep]
    else:
        split_cfg = cfg.preprocessing.split
        strat = None
        if split_cfg.type == "stratified":
            strat_col = split_cfg.column or cfg.output_features[0].source
            if strat_col in [f.config.source for f in outputs]:
                strat = raw_targets[next(f.config.name for f in outputs if f.config.source == strat_col)]
            else:
                data.check_columns(df, {strat_col: "preprocessing.split.column"}, source)
                strat = data.raw_column(df, strat_col, "string", source)[keep]
            if strat.dtype.kind == "f":  # a number: stratify on its quintiles
                edges = np.nanquantile(strat, [0.2, 0.4, 0.6, 0.8])
                strat = np.digitize(np.nan_to_num(strat, nan=np.nanmedian(strat)), edges).astype(str)
        split = data.split_rows(df.iloc[np.flatnonzero(keep)], split_cfg, strat, source)
    train = split == 0
    if not train.any():
        raise TkError(f"{source}: the split leaves no training rows")

    for f in inputs:
        col = columns[f.config.source][train]
        if missing_mask(col).all():
            raise TkError(f"{source}: column {f.config.source!r} (input feature {f.config.name!r}): "
                          "every value is missing in the training rows; remove the feature")
        f.fit(col)
    targets = {}
    for f in outputs:
        f.fit(raw_targets[f.config.name][train])
        targets[f.config.name] = f.encode_target(raw_targets[f.config.name])
        unknown_rows = np.isnan(targets[f.config.name]).reshape(len(train), -1).any(axis=1)  # [N] or [N, C]
        unknown = int((unknown_rows & ~train).sum())
        if unknown:
            log.warn(f"{source}: {unknown} validation/test row(s) of {f.config.name!r} hold a target "
                     "value never seen in training; they are left out of its metrics")

    summary = {
        "source": str(source),
        "rows": int(len(df)),
        "dropped_missing_target": dropped,
        "rows_per_split": {name: int((split == k).sum()) for k, name in enumerate(SPLITS)},
        "missing_per_column": {c: int(missing_mask(v).sum()) for c, v in columns.items()},
    }
    return Prepared(columns, targets, split, summary)


def describe_raw(inputs) -> list[dict]:
    """The raw-input signature: [{"name": column, "dtype": float32|string}]."""
    from toolkit.preprocess import raw_inputs

    return [{"name": c, "dtype": "float32" if t == RAW_FLOAT else "string"}
            for c, t in raw_inputs(inputs).items()]
