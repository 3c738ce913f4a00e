"""From chunks of a source to parts of rows: split, targets, rows without a target dropped.

The split of a row never depends on which chunk or rank reads it:
  - `fixed`: the split column, as in memory;
  - `random` / `stratified`: a hash of (seed, global row number) compared with
    the ratios (streaming cannot stratify; over many rows the hash split is
    close to stratified in expectation). So the same files and seed give the
    same split, whatever the chunk size or the number of processes.

toolkit.training.batches turns the parts of one split into training batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.data import tables as data
from toolkit.features import columns as prepare

_GOLDEN = 0x9E3779B97F4A7C15


def hash_unit(rows: np.ndarray, seed: int) -> np.ndarray:
    """Row numbers [N] → floats in [0, 1) [N], by splitmix64 of (row number, seed)."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64((seed * _GOLDEN + _GOLDEN) & (2**64 - 1))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def split_of(frame, rows: np.ndarray, split_cfg, source: str) -> np.ndarray:
    """int8 [N]: 0 train, 1 validation, 2 test for the rows of one chunk (`rows`: global row numbers [N])."""
    if split_cfg.type == "fixed":
        return data.split_rows(frame, split_cfg, None, source)
    u = hash_unit(np.asarray(rows, dtype=np.uint64), split_cfg.seed)
    r_train, r_val = split_cfg.ratios[0], split_cfg.ratios[0] + split_cfg.ratios[1]
    return np.where(u < r_train, 0, np.where(u < r_val, 1, 2)).astype(np.int8)


def wanted(cfg, inputs, outputs, with_targets: bool = True) -> dict[str, str]:
    """{column: raw dtype} to read: inputs, targets and the fixed split column."""
    cols = {f.config.source: f.raw_dtype for f in inputs}
    if with_targets:
        cols |= {f.config.source: f.raw_dtype for f in outputs}
        if cfg.preprocessing.split.type == "fixed":
            cols.setdefault(cfg.preprocessing.split.column, "string")
    return cols


@dataclass
class Part:
    """The rows of one chunk that have every target."""

    columns: dict[str, np.ndarray]  # raw input columns [n]
    raw_targets: dict[str, np.ndarray]  # raw targets [n]
    split: np.ndarray  # int8 [n]
    dropped: int  # rows of the chunk without a target
    present: dict | None = None  # {output name: rows of the chunk that have its target}


def whole_split(cfg, frame, keep: np.ndarray, raw_targets: dict, outputs, source: str) -> np.ndarray:
    """int8 [n kept]: the random or stratified split of a table read whole, over its kept rows.

    Stratified on the configured column (default: the first output); a number is
    stratified on its quintiles.
    """
    split_cfg, strat = cfg.preprocessing.split, None
    if split_cfg.type == "stratified":
        strat_col = split_cfg.column or cfg.output_features[0].source
        if strat_col in [f.config.source for f in outputs]:
            strat = raw_targets[next(f.config.name for f in outputs if f.config.source == strat_col)]
        else:
            data.check_columns(frame, {strat_col: "preprocessing.split.column"}, source)
            strat = data.raw_column(frame, strat_col, "string", source)[keep]
        if strat.dtype.kind == "f":  # a number: stratify on its quintiles
            edges = np.nanquantile(strat, [0.2, 0.4, 0.6, 0.8])
            strat = np.digitize(np.nan_to_num(strat, nan=np.nanmedian(strat)), edges).astype(str)
    return data.split_rows(frame.iloc[np.flatnonzero(keep)], split_cfg, strat, source)


def read_part(cfg, inputs, outputs, chunk, source: str, whole: bool = False) -> Part:
    """Raw columns, targets and split of a chunk, rows with a missing target dropped.

    `whole`: the chunk is the whole table (an in-memory source), so a random or
    stratified split is drawn over all its rows at once; otherwise each row's
    split is a hash of its row number. The Part of a whole table is kept on its
    chunk: every later pass reuses it.
    """
    if whole and getattr(chunk, "part", None) is not None:
        return chunk.part
    frame = chunk.frame
    columns = prepare.input_columns(inputs, frame, source)
    raw_targets = prepare.target_columns(outputs, frame, source)
    keep, present = np.ones(len(frame), dtype=bool), {}
    for f in outputs:
        has = ~f.missing(raw_targets[f.config.name])
        present[f.config.name] = int(has.sum())
        keep &= has
    if whole and cfg.preprocessing.split.type != "fixed":
        raw_targets = {k: v[keep] for k, v in raw_targets.items()}
        split = whole_split(cfg, frame, keep, raw_targets, outputs, source)
    else:
        split = split_of(frame, chunk.row_numbers(), cfg.preprocessing.split, source)[keep]
        raw_targets = {k: v[keep] for k, v in raw_targets.items()}
    if not keep.all():
        columns = {c: v[keep] for c, v in columns.items()}
    part = Part(columns, raw_targets, split, int((~keep).sum()), present)
    if whole:
        chunk.part = part
    return part
