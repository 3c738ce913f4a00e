"""Fit every feature from the training rows of a source, chunk by chunk: the one fit.

An in-memory table is a source of one chunk (readers.FrameSource); files,
globs and directories are read in chunks (readers.Source). Each feature is
fitted by its own accumulator (toolkit.features.base): one pass for most
types, two for text (document frequencies of the kept tokens).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from toolkit.common import log
from toolkit.errors import TkError
from toolkit.features import columns as prepare
from toolkit.training.rows import read_part


def fit_features(cfg, source, inputs, outputs, rows: int = 65_536, label: str = "data") -> dict:
    """Fit `inputs` and `outputs` in place from the training rows of `source`; returns the data summary:
    {source, rows, dropped_missing_target, rows_per_split, missing_per_column[, streamed]}."""
    whole = source.whole
    accs = [f.accumulator() for f in inputs + outputs]
    rows_total, dropped = 0, 0
    per_split = np.zeros(3, dtype=np.int64)
    missing: Counter = Counter()
    present: Counter = Counter()
    for pass_no in range(max(acc.passes for acc in accs) if accs else 1):
        for chunk in source.chunks(rows):
            part = read_part(cfg, inputs, outputs, chunk, label, whole)
            train = part.split == 0
            if pass_no == 0:
                rows_total += len(chunk.frame)
                dropped += part.dropped
                per_split += np.bincount(part.split, minlength=3)[:3]
                present.update(part.present)
                for c, v in part.columns.items():
                    missing[c] += int(prepare.missing_mask(v).sum())
            for f, acc in zip(inputs + outputs, accs):
                if pass_no < acc.passes:
                    col = part.columns[f.config.source] if f.kind == "input" else part.raw_targets[f.config.name]
                    acc.update(col[train])
        if pass_no == 0:
            _check_first_pass(
                label,
                inputs=inputs,
                outputs=outputs,
                accs=accs,
                rows_total=rows_total,
                dropped=dropped,
                per_split=per_split,
                present=present,
            )
        for acc in accs:
            if pass_no < acc.passes:
                acc.end_pass()
    for acc in accs[len(inputs) :] + accs[: len(inputs)]:  # outputs first: their errors name the target
        acc.finish()
    summary = {
        "source": label,
        "rows": int(rows_total),
        "dropped_missing_target": int(dropped),
        "rows_per_split": {name: int(per_split[k]) for k, name in enumerate(prepare.SPLITS)},
        "missing_per_column": dict(missing),
    }
    return summary if whole else summary | {"streamed": True}


def _check_first_pass(label, *, inputs, outputs, accs, rows_total, dropped, per_split, present) -> None:
    """The errors and warnings that the first pass can tell: no rows, no targets, empty inputs."""
    if rows_total == 0:
        raise TkError(f"{label}: no rows")
    for f in outputs:
        if present[f.config.name] == 0:
            raise TkError(f"{label}: {f.where}: every target value is missing")
    if dropped:
        log.warn(f"{label}: dropped {dropped} row(s) with a missing target")
    if per_split[0] == 0:
        raise TkError(f"{label}: the split leaves no training rows")
    for f, acc in zip(inputs, accs):
        if acc.present == 0:
            raise TkError(f"{label}: {f.where}: every value is missing in the training rows; remove the feature")


def table_split(cfg, frame, label: str = "DataFrame") -> np.ndarray:
    """int8 [rows that have every target]: 0 train, 1 validation, 2 test, as training splits a table in memory."""
    from toolkit.data import readers

    inputs, outputs = prepare.make_features(cfg)
    chunk = next(readers.FrameSource(frame, label).chunks())
    return read_part(cfg, inputs, outputs, chunk, label, whole=True).split
