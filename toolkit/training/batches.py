"""The rows of one split as the training loop sees them: batches, predictions, a raw sample.

Two sources of the same shape, so the loop (toolkit.training.loop) is written once:

    MemorySplit   a table read whole: preprocessed once, its tensors kept on the
                  training device; each epoch is one seeded permutation (a gather),
                  each batch a slice of it — no per-batch host copies.
    StreamSplit   chunks of files: each epoch reads this rank's chunks again
                  (Parquet units in a seeded order), preprocesses them and draws
                  batches from a seeded shuffle buffer; torch's RNG is reseeded
                  from (seed, epoch, rank), so a resumed epoch replays the same
                  batches and the same dropout masks.

Both answer:
    split.rows                                    rows of the split (this process's view: all ranks)
    split.batches(batch_size, epoch, generator)   → (x list [b, …] per input, y list [b, …] per output)
    split.predictions(model, ctx)                 → (decoder outputs per output, targets per output), numpy,
                                                    every rank's rows together; (None, None) when empty
    split.raw_sample(n)                           → {column: [≤ n]} raw input values (for the parity check)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from toolkit.common import log
from toolkit.training import ddp
from toolkit.training.rows import Part, read_part

EVAL_BATCH = 16_384


@torch.no_grad()
def predict_raw(model, x: list[torch.Tensor], device=None) -> list[np.ndarray]:
    """Decoder outputs for all rows, in eval mode and big batches (moved to `device` when given):
    list of [N] / [N, C] (numpy, float32)."""
    model.eval()
    n = len(x[0])
    chunks = [
        model(*[t[i : i + EVAL_BATCH].to(device) if device is not None else t[i : i + EVAL_BATCH] for t in x])
        for i in range(0, max(n, 1), EVAL_BATCH)
    ]
    return [torch.cat([c[k] for c in chunks]).float().cpu().numpy() for k in range(len(chunks[0]))]


def tensors_of(part: Part, inputs, outputs, pre) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Preprocessed inputs (through the pre graph) and encoded targets of a part, as CPU tensors."""
    cols = pre.transform(part.columns)
    x = [torch.from_numpy(np.ascontiguousarray(cols[f.config.name])) for f in inputs]
    y = [torch.from_numpy(f.encode_target(part.raw_targets[f.config.name])) for f in outputs]
    return x, y


#: Share of the GPU's free memory the training tensors may take; above it they stay in (pinned) host
#: memory and each batch is copied over.
DEVICE_SHARE = 0.5


def fits_on(device, tensors: list[torch.Tensor]) -> bool:
    """True when `tensors` may live on `device`: always on the CPU; on a GPU when their bytes are at most
    DEVICE_SHARE of its free memory (the model, activations and optimizer state need the rest)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return sum(t.numel() * t.element_size() for t in tensors) <= DEVICE_SHARE * free


def too_many(rows: int, max_rows: int | None, label: str) -> None:
    """TkError when one split holds more rows than a model trained in one go may take (TK_GBM_MAX_ROWS)."""
    from toolkit.errors import TkError

    if max_rows is not None and rows > max_rows:
        raise TkError(
            f"{label}: {rows} rows in one split; a gbm model trains on at most "
            f"{max_rows} (TK_GBM_MAX_ROWS): sample the data or use model_type: nn"
        )


class MemorySplit:
    """One split of a table read whole, as tensors on `device` when they fit there (see `fits_on`)."""

    def __init__(self, x: list[torch.Tensor], y: list[torch.Tensor], raw: tuple[dict, np.ndarray], device):
        """`raw`: (the whole table's raw columns, this split's row indices), read only by `raw_sample`."""
        self.device, self.raw = device, raw
        self.rows = len(y[0]) if y else 0
        home = device if fits_on(device, x + y) else torch.device("cpu")
        if home != device:
            log.info(
                f"{self.rows} rows do not fit in {DEVICE_SHARE:.0%} of the free GPU memory: "
                "kept in pinned host memory, copied per batch"
            )
            x, y = [t.pin_memory() for t in x], [t.pin_memory() for t in y]
        self.x = [t.to(home) for t in x]  # one tensor per input feature, [N, …]
        self.y = [t.to(home) for t in y]  # one float tensor per output feature, [N] or [N, C] (NaN = unknown)

    @classmethod
    def all_splits(cls, source, cfg, *, inputs, outputs, pre, label: str, device) -> dict[int, "MemorySplit"]:
        """{0: train, 1: validation, 2: test} of the one chunk of `source` (a readers.FrameSource)."""
        chunk = next(iter(source.chunks()))
        part = read_part(cfg, inputs, outputs, chunk, label, whole=True)
        x, y = tensors_of(part, inputs, outputs, pre)
        train = part.split == 0
        for f, t in zip(outputs, y):  # a class never seen in training has no index: its rows leave the metrics
            unknown = int((torch.isnan(t).reshape(len(t), -1).any(dim=1).numpy() & ~train).sum())
            if unknown:
                log.warn(
                    f"{label}: {unknown} validation/test row(s) of {f.config.name!r} hold a target "
                    "value never seen in training; they are left out of its metrics"
                )
        splits = {}
        for k in range(3):
            idx = torch.from_numpy(np.flatnonzero(part.split == k))
            splits[k] = cls([t[idx] for t in x], [t[idx] for t in y], (part.columns, idx.numpy()), device)
        return splits

    def batches(self, batch_size: int, epoch: int, generator: torch.Generator):
        """One seeded permutation (a gather on the device), then slices; a last batch of 1 row is
        skipped (BatchNorm cannot train on one)."""
        n, home = self.rows, self.x[0].device if self.x else self.device
        order = torch.randperm(n, generator=generator).to(home)
        x, y = [t[order] for t in self.x], [t[order] for t in self.y]
        for i in range(0, n, batch_size):
            rows = min(batch_size, n - i)
            if rows < 2 and n >= 2:
                continue
            if home == self.device:  # the usual case: slices of tensors already on the device
                yield [t[i : i + rows] for t in x], [t[i : i + rows] for t in y]
            else:
                yield (
                    [t[i : i + rows].to(self.device, non_blocking=True) for t in x],
                    [t[i : i + rows].to(self.device, non_blocking=True) for t in y],
                )

    def arrays(self, inputs, max_rows: int | None = None) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """({feature: pre tensor [N, …]}, targets per output) as numpy, for a model trained in one go;
        TkError above `max_rows` rows (as StreamSplit.arrays)."""
        too_many(self.rows, max_rows, "the table")
        return ({f.config.name: t.cpu().numpy() for f, t in zip(inputs, self.x)}, [t.cpu().numpy() for t in self.y])

    def predictions(self, model, ctx):
        if self.rows == 0:
            return None, None
        return predict_raw(model, self.x, self.device), [t.cpu().numpy() for t in self.y]

    def raw_sample(self, n: int) -> dict[str, np.ndarray]:
        columns, idx = self.raw
        return {c: v[idx[:n]] for c, v in columns.items()}

    def joined(self, other: "MemorySplit") -> "MemorySplit":
        """This split's rows, then `other`'s, as one split (a refit on train + validation)."""
        columns, rows = self.raw
        return MemorySplit(
            [torch.cat([a, b.to(a.device)]) for a, b in zip(self.x, other.x)],
            [torch.cat([a, b.to(a.device)]) for a, b in zip(self.y, other.y)],
            (columns, np.concatenate([rows, other.raw[1]])),
            self.device,
        )

    def sample(self, n: int, seed: int) -> "MemorySplit":
        """A seeded random subset of `n` rows (a gather where the tensors live), for scoring a big split."""
        idx = torch.randperm(self.rows, generator=torch.Generator().manual_seed(seed))[:n]
        columns, rows = self.raw
        return MemorySplit(
            [t[idx.to(t.device)] for t in self.x],
            [t[idx.to(t.device)] for t in self.y],
            (columns, rows[idx.numpy()]),
            self.device,
        )


class StreamSplit:
    """One split's rows of this rank, chunk by chunk, preprocessed on each pass."""

    def __init__(
        self, cfg, source, *, inputs, outputs, pre, split: int, ctx, rows: int, total_rows: int, label: str = "data"
    ):
        self.cfg, self.source, self.inputs, self.outputs, self.pre = cfg, source, inputs, outputs, pre
        self.split, self.ctx, self.chunk_rows, self.label = split, ctx, rows, label
        self.rows = total_rows  # of every rank, from the fit's summary

    def parts(self, order_seed: int | None = None, rank: int | None = None, world: int | None = None) -> Iterator[Part]:
        """This split's rows of each chunk of this rank, raw."""
        rank = self.ctx.rank if rank is None else rank
        world = self.ctx.world if world is None else world
        for chunk in self.source.chunks(self.chunk_rows, rank, world, order_seed):
            part = read_part(self.cfg, self.inputs, self.outputs, chunk, self.label)
            mine = part.split == self.split
            if mine.any():
                yield Part(
                    {c: v[mine] for c, v in part.columns.items()},
                    {k: v[mine] for k, v in part.raw_targets.items()},
                    part.split[mine],
                    0,
                )

    def tensors(self, order_seed: int | None = None):
        """(x list, y list) of CPU tensors per chunk of this rank."""
        for part in self.parts(order_seed):
            yield tensors_of(part, self.inputs, self.outputs, self.pre)

    def batches(self, batch_size: int, epoch: int, generator: torch.Generator):
        """Batches of batch_size / world rows from a seeded shuffle buffer, on the device."""
        tc, ctx = self.cfg.trainer, self.ctx
        seed = (tc.seed * 1_000_003 + epoch) * 101 + ctx.rank
        torch.manual_seed(seed)  # dropout masks too: a resumed epoch replays them
        size = max(2, batch_size // ctx.world)
        for bx, by in shuffled_batches(self.tensors(order_seed=seed), size, tc.shuffle_buffer, seed):
            yield [t.to(ctx.device) for t in bx], [t.to(ctx.device) for t in by]

    def arrays(self, inputs, max_rows: int) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """The whole split in memory (as MemorySplit.arrays); TkError above `max_rows` rows."""
        too_many(self.rows, max_rows, self.label)
        xs, ys = [], []
        for x, y in self.tensors():
            xs.append(x)
            ys.append(y)
        if not xs:
            return {}, []
        return (
            {f.config.name: np.concatenate([x[i].numpy() for x in xs]) for i, f in enumerate(inputs)},
            [np.concatenate([y[k].numpy() for y in ys]) for k in range(len(ys[0]))],
        )

    def predictions(self, model, ctx):
        preds, ys = [], []
        for x, y in self.tensors():
            preds.append(predict_raw(model, [t.to(ctx.device) for t in x]))
            ys.append([t.numpy() for t in y])
        mine = (
            [np.concatenate(p) for p in zip(*preds)] if preds else None,
            [np.concatenate(t) for t in zip(*ys)] if ys else None,
        )
        parts = [p for p in ddp.gather(ctx, mine) if p[0] is not None]
        if not parts:
            return None, None
        return (
            [np.concatenate(p) for p in zip(*(p[0] for p in parts))],
            [np.concatenate(t) for t in zip(*(p[1] for p in parts))],
        )

    def raw_sample(self, n: int) -> dict[str, np.ndarray]:
        """The first `n` rows of the first chunk that has any (read as one process would)."""
        part = next(iter(self.parts(rank=0, world=1)), None)
        return {c: v[:n] for c, v in part.columns.items()} if part is not None else {}


def shuffled_batches(chunks, batch_size: int, buffer_rows: int, seed: int) -> Iterator[tuple[list, list]]:
    """Batches (x, y) drawn from a shuffle buffer of at least `buffer_rows` rows.

    Chunks fill the buffer; once full it is permuted with a generator seeded
    by `seed`, half of it goes out as batches and half stays to mix with the
    next chunks. The last partial batch is kept if it has ≥ 2 rows
    (BatchNorm cannot train on one).
    """
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
            idx = order[i : min(i + batch_size, out)]
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
