"""From chunks of a Source to training batches: split, targets, preprocessing, shuffle buffer.

The split of a row never depends on which chunk or rank reads it:
  - `fixed`: the split column, as in memory;
  - `random` / `stratified`: a hash of (seed, global row number) compared with
    the ratios (streaming cannot stratify; over many rows the hash split is
    close to stratified in expectation). So the same files and seed give the
    same split, whatever the chunk size or the number of processes.

`StreamSplit` is a torch IterableDataset of preprocessed chunks of one split;
`shuffled_batches` draws batches from a seeded shuffle buffer over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from toolkit import data, prepare

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

    columns: dict[str, np.ndarray]      # raw input columns [n]
    raw_targets: dict[str, np.ndarray]  # raw targets [n]
    split: np.ndarray                   # int8 [n]
    dropped: int                        # rows of the chunk without a target


def read_part(cfg, inputs, outputs, chunk, source: str) -> Part:
    """Raw columns, targets and split of a chunk, rows with a missing target dropped."""
    frame = chunk.frame
    columns = prepare.input_columns(inputs, frame, source)
    raw_targets = prepare.target_columns(outputs, frame, source)
    split = split_of(frame, chunk.row_numbers(), cfg.preprocessing.split, source)
    keep = np.ones(len(frame), dtype=bool)
    for f in outputs:
        raw = raw_targets[f.config.name]
        keep &= ~(f.missing(raw) if hasattr(f, "missing") else prepare.missing_mask(raw))
    if not keep.all():
        columns = {c: v[keep] for c, v in columns.items()}
        raw_targets = {k: v[keep] for k, v in raw_targets.items()}
        split = split[keep]
    return Part(columns, raw_targets, split, int((~keep).sum()))


class StreamSplit:
    """One split's rows, chunk by chunk, preprocessed: yields (x [n, …] per input, y [n] per output).

    A torch IterableDataset in spirit (iterate it directly; it batches itself
    through `shuffled_batches`). Each rank reads its own shard units.
    """

    def __init__(self, cfg, source, inputs, outputs, preprocessor, split: int, rank: int = 0, world: int = 1,
                 rows: int = 65_536, label: str = "data"):
        self.cfg, self.source, self.inputs, self.outputs = cfg, source, inputs, outputs
        self.pre, self.split, self.rank, self.world, self.rows, self.label = (
            preprocessor, split, rank, world, rows, label)

    def raw_parts(self, order_seed: int | None = None) -> Iterator[Part]:
        """This split's rows of each chunk of this rank, raw."""
        for chunk in self.source.chunks(self.rows, self.rank, self.world, order_seed):
            part = read_part(self.cfg, self.inputs, self.outputs, chunk, self.label)
            mine = part.split == self.split
            if mine.any():
                yield Part({c: v[mine] for c, v in part.columns.items()},
                           {k: v[mine] for k, v in part.raw_targets.items()}, part.split[mine], 0)

    def tensors(self, order_seed: int | None = None, raw: bool = False):
        """Yields (x list of torch tensors, y list of torch tensors[, raw columns])."""
        import torch

        for part in self.raw_parts(order_seed):
            pre = self.pre.transform(part.columns)
            x = [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in self.inputs]
            y = [torch.from_numpy(f.encode_target(part.raw_targets[f.config.name])) for f in self.outputs]
            yield (x, y, part.columns) if raw else (x, y)

    def __iter__(self):
        return self.tensors()


def shuffled_batches(chunks, batch_size: int, buffer_rows: int, seed: int) -> Iterator[tuple[list, list]]:
    """Batches (x, y) drawn from a shuffle buffer of at least `buffer_rows` rows.

    Chunks fill the buffer; once full it is permuted with a generator seeded
    by `seed`, half of it goes out as batches and half stays to mix with the
    next chunks. The last partial batch is kept if it has ≥ 2 rows
    (BatchNorm cannot train on one).
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    pool_x: list[list] = []
    pool_y: list[list] = []
    size = 0

    def drain(final: bool):
        nonlocal pool_x, pool_y, size
        x = [torch.cat(ts) for ts in zip(*pool_x)]
        y = [torch.cat(ts) for ts in zip(*pool_y)]
        order = torch.randperm(size, generator=gen)
        out = size if final else (size // 2) // batch_size * batch_size
        for i in range(0, out, batch_size):
            idx = order[i:min(i + batch_size, out)]
            if len(idx) >= 2:
                yield [t[idx] for t in x], [t[idx] for t in y]
        rest = order[out:]
        pool_x, pool_y, size = [[t[rest] for t in x]], [[t[rest] for t in y]], len(rest)

    for x, y in chunks:
        pool_x.append(x)
        pool_y.append(y)
        size += len(y[0])
        if size >= max(buffer_rows, 2 * batch_size):
            yield from drain(False)
    if size:
        yield from drain(True)
