"""From a config and a table to feature objects and raw columns.

Training follows scikit-learn's discipline (toolkit.training.fitting, toolkit.pipeline.run):
pull each configured column out of the table coerced to its raw dtype (here),
drop rows with a missing target, split, fit every feature on the training
rows only (its accumulator), encode targets; inputs are preprocessed by the
ONNX graph.
"""

from __future__ import annotations

import numpy as np

from toolkit.data import tables as data
from toolkit.data.number_lists import by_column
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features.base import RAW_FLOAT, missing_mask  # noqa: F401  (re-exported: one missing rule)

SPLITS = ("train", "validation", "test")


def make_features(cfg, extra_inputs=()):
    """Unfitted feature objects for the config's inputs (then `extra_inputs`, more input configs) and
    outputs, in order. The model kind adds its own extra inputs: toolkit.models.make_features."""
    configs = list(cfg.input_features) + list(extra_inputs)
    inputs = [INPUT_FEATURES[fc.type](fc) for fc in configs]
    outputs = [OUTPUT_FEATURES[fc.type](fc) for fc in cfg.output_features]
    return inputs, outputs


def wanted_columns(cfg, with_targets: bool) -> dict[str, str]:
    """Column → where the config names it, for 'no such column' messages."""
    wanted = {fc.source: f"input_features[{i}]" for i, fc in enumerate(cfg.input_features)}
    if with_targets:
        wanted |= {fc.source: f"output_features[{i}]" for i, fc in enumerate(cfg.output_features)}
    return wanted


def input_columns(inputs, df, source: str, strict: bool = False) -> dict[str, np.ndarray]:
    """Raw input columns {column: [N]} coerced for the preprocessing graph (see data.raw_column)."""
    lists = by_column((f.config.source, f.list_column) for f in inputs)
    cols: dict[str, np.ndarray] = {}
    for f in inputs:
        col = f.config.source
        if col not in cols:
            cols[col] = data.raw_column(df, col, f.raw_dtype, source, strict, lists.get(col))
    return cols


def target_columns(outputs, df, source: str) -> dict[str, np.ndarray]:
    """Raw target columns {output name: [N]}."""
    return {f.config.name: data.raw_column(df, f.config.source, f.raw_dtype, source) for f in outputs}


def describe_raw(inputs) -> list[dict]:
    """The raw-input signature: [{"name": column, "dtype": float32|string}]."""
    from toolkit.features.pregraph import raw_inputs

    return [{"name": c, "dtype": "float32" if t == RAW_FLOAT else "string"} for c, t in raw_inputs(inputs).items()]
