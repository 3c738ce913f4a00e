"""Read CSV, Parquet or JSON lines in chunks: one file, a glob or a directory.

    src = Source("data/*.parquet", {"age": "float32", "city": "string"})
    for chunk in src.chunks(rows=65_536, rank=0, world=1):
        chunk.offset   # global row number of the chunk's first row (files in sorted order)
        chunk.frame    # pandas DataFrame of the wanted columns only, ≤ `rows` rows

Nothing reads a whole file: Parquet goes row group by row group
(`ParquetFile.iter_batches`), CSV block by block (`pyarrow.csv.open_csv`),
JSON lines through pandas' `chunksize`. The shard unit that ranks share out
(`unit % world == rank`) is a Parquet row group, or a CSV / JSON lines block;
Parquet units can also be visited in a seeded random order (training), CSV
and JSON lines only in file order.

CSV columns are read with the type the config gives them (float64 for number
columns, string otherwise) and pandas' missing markers; a value that is not a
number in a number column is an error naming the file and column here
(the in-memory reader counts it and treats it as missing).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from toolkit.data.formats import FILE_KINDS as KINDS
from toolkit.data.formats import NULL_VALUES, file_kind
from toolkit.errors import TkError

#: Files at least this big (bytes, all files together) are streamed; TK_STREAM_BYTES overrides.
STREAM_BYTES = 256 * 2**20
#: Rows per chunk handed to the caller.
CHUNK_ROWS = 65_536


def stream_bytes() -> int:
    return int(os.environ.get("TK_STREAM_BYTES", STREAM_BYTES))


def is_pattern(source) -> bool:
    return any(ch in str(source) for ch in "*?[")


def files_of(source) -> list[Path]:
    """The data files of a path, a glob or a directory (recursively), sorted; TkError if none."""
    text = str(source)
    if is_pattern(text):
        paths = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
        where = f"{text}: no file matches"
    elif Path(text).is_dir():
        paths = sorted(
            p
            for p in Path(text).rglob("*")
            if p.is_file() and not p.name.startswith((".", "_")) and p.suffix.lower() in KINDS
        )
        where = f"{text}: the directory holds no .csv, .tsv, .parquet or .jsonl file"
    else:
        paths = [Path(text)]
        where = ""
    if not paths:
        raise TkError(where)
    for p in paths:
        file_kind(p)  # TkError for an unknown suffix
        if not p.exists():
            raise TkError(f"{p}: no such data file")
        if p.stat().st_size == 0:
            raise TkError(f"{p}: the data file is empty")
    kinds = {KINDS[p.suffix.lower()] for p in paths}
    if len(kinds) > 1:
        raise TkError(f"{text}: mixes file types ({', '.join(sorted(kinds))}); use one type")
    return paths


def should_stream(source) -> bool:
    """True for a glob, a directory, or files of at least TK_STREAM_BYTES in all."""
    if hasattr(source, "columns"):  # a DataFrame is in memory already
        return False
    text = str(source)
    if is_pattern(text) or Path(text).is_dir():
        return True
    return Path(text).is_file() and Path(text).stat().st_size >= stream_bytes()


@dataclass
class Chunk:
    offset: int  # global row number of the first row
    frame: "object"  # pandas DataFrame
    unit: int  # shard unit it came from
    rows: "object" = None  # global row numbers [n] when not offset, offset + 1, … (rows dealt to ranks)

    def row_numbers(self):
        """Global row numbers of the frame's rows: int64 [n]."""
        import numpy as np

        if self.rows is not None:
            return self.rows
        return np.arange(self.offset, self.offset + len(self.frame), dtype=np.int64)


def _deal(chunk: Chunk, rank: int, world: int) -> Chunk | None:
    """The rows of `chunk` whose global row number % world == rank (None when none)."""
    rows = chunk.row_numbers()
    mine = rows % world == rank
    if not mine.any():
        return None
    return Chunk(chunk.offset, chunk.frame[mine].reset_index(drop=True), chunk.unit, rows[mine])


@dataclass
class _Unit:
    path: Path
    row_group: int  # Parquet row group, -1 for sequential formats
    offset: int


class FrameSource:
    """A table already in memory (a DataFrame) as a source of one chunk: the whole table.

    Its rows can be split all at once (`whole`: exact stratified splits), and the
    chunk is the same object on every pass, so what is read from it can be kept.
    """

    whole = True

    def __init__(self, frame, label: str = "DataFrame"):
        self.frame, self.label = frame, label
        self.chunk = Chunk(0, frame, 0)

    def check(self, wanted: dict[str, str]) -> None:
        from toolkit.data import tables as data

        data.check_columns(self.frame, wanted, self.label)

    def chunks(
        self, rows: int = CHUNK_ROWS, rank: int = 0, world: int = 1, order_seed: int | None = None
    ) -> Iterator[Chunk]:
        """The one chunk (this rank's rows of it when world > 1)."""
        chunk = _deal(self.chunk, rank, world) if world > 1 else self.chunk
        if chunk is not None:
            yield chunk


class Source:
    """Chunked reading of the columns `wanted` ({column: "float32" | "string"}) of a source."""

    whole = False  # rows arrive chunk by chunk: splits are hashed per row

    def __init__(self, source, wanted: dict[str, str] | None = None):
        self.label = str(source)
        self.paths = files_of(source)
        self.kind = KINDS[self.paths[0].suffix.lower()]
        self.wanted = dict(wanted or {})

    # ---- schema ---------------------------------------------------------------

    def column_names(self) -> list[str]:
        """Columns of the first file (all files are expected to share them)."""
        return self._names(self.paths[0])

    def _names(self, path: Path) -> list[str]:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            try:
                return list(pq.ParquetFile(path).schema_arrow.names)
            except Exception as e:  # pyarrow raises several types for a damaged file
                raise TkError(f"{path}: cannot read as parquet: {str(e).splitlines()[0]}") from None
        if self.kind in ("csv", "tsv"):
            import csv

            try:
                with open(path, newline="", encoding="utf-8") as f:
                    return next(csv.reader(f, delimiter="\t" if self.kind == "tsv" else ","))
            except StopIteration:
                raise TkError(f"{path}: the data file is empty") from None
            except UnicodeDecodeError as e:
                raise TkError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        import json

        with open(path, encoding="utf-8") as f:
            line = f.readline()
        try:
            return list(json.loads(line))
        except ValueError:
            raise TkError(f"{path}: line 1 is not a JSON object") from None

    def check(self, wanted: dict[str, str]) -> None:
        """TkError naming the config entry of every wanted column missing from a file."""
        for p in self.paths:
            names = set(self._names(p))
            missing = [c for c in wanted if c not in names]
            if missing:
                has = ", ".join(sorted(names)[:40])
                raise TkError(
                    f"{p}: no such column: "
                    + "; ".join(f"{wanted[c]} column {c!r}" for c in missing)
                    + f"; the data has: {has}"
                )

    # ---- chunks ---------------------------------------------------------------

    def _units(self) -> list[_Unit]:
        import pyarrow.parquet as pq

        units, offset = [], 0
        for p in self.paths:
            meta = pq.ParquetFile(p).metadata
            for rg in range(meta.num_row_groups):
                units.append(_Unit(p, rg, offset))
                offset += meta.row_group(rg).num_rows
        return units

    def num_rows(self) -> int | None:
        """Rows in all files when the format says so cheaply (Parquet), else None."""
        if self.kind != "parquet":
            return None
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths)

    def chunks(
        self, rows: int = CHUNK_ROWS, rank: int = 0, world: int = 1, order_seed: int | None = None
    ) -> Iterator[Chunk]:
        """Chunks of ≤ `rows` rows for this rank; Parquet units shuffled when `order_seed` is set.

        Parquet with at least 2 row groups per rank: each rank reads its own
        row groups. Otherwise (CSV, JSON lines, few row groups) every rank
        reads the stream and keeps the rows whose number % world == rank, so
        the ranks' shares differ by at most a row per chunk.
        """
        columns = list(self.wanted)
        if self.kind == "parquet" and (world == 1 or len(self._units()) >= 2 * world):
            yield from self._parquet(columns, rows, rank, world, order_seed)
            return
        for chunk in self._sequential(columns, rows, order_seed):
            if world > 1:
                chunk = _deal(chunk, rank, world)
            if chunk is not None:
                yield chunk

    def _sequential(self, columns, rows, order_seed) -> Iterator[Chunk]:
        if self.kind == "parquet":
            yield from self._parquet(columns, rows, 0, 1, order_seed)
            return
        unit, offset = 0, 0
        for p in self.paths:
            blocks = (
                self._csv_blocks(p, columns) if self.kind in ("csv", "tsv") else self._jsonl_blocks(p, columns, rows)
            )
            for frame in blocks:
                for start in range(0, len(frame), rows):
                    yield Chunk(offset + start, frame.iloc[start : start + rows].reset_index(drop=True), unit)
                    unit += 1
                offset += len(frame)

    def _parquet(self, columns, rows, rank, world, order_seed) -> Iterator[Chunk]:
        import numpy as np
        import pyarrow.parquet as pq

        units = [u for i, u in enumerate(self._units()) if i % world == rank]
        order = np.arange(len(units))
        if order_seed is not None:
            order = np.random.default_rng(order_seed).permutation(len(units))
        files: dict[Path, object] = {}
        for i in order.tolist():
            u = units[i]
            try:
                pf = files.setdefault(u.path, pq.ParquetFile(u.path))
                start = u.offset
                for batch in pf.iter_batches(batch_size=rows, row_groups=[u.row_group], columns=columns):
                    yield Chunk(start, batch.to_pandas(), i * world + rank)
                    start += batch.num_rows
            except (OSError, ValueError) as e:
                raise TkError(f"{u.path}: cannot read as parquet: {str(e).splitlines()[0]}") from None

    def _csv_blocks(self, path: Path, columns):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        types = {c: (pa.float64() if t == "float32" else pa.string()) for c, t in self.wanted.items() if t}
        convert = pcsv.ConvertOptions(
            include_columns=columns,
            column_types=types,
            null_values=NULL_VALUES,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        parse = pcsv.ParseOptions(delimiter="\t" if self.kind == "tsv" else ",", newlines_in_values=True)
        try:
            reader = pcsv.open_csv(
                path, read_options=pcsv.ReadOptions(block_size=8 * 2**20), parse_options=parse, convert_options=convert
            )
            for batch in reader:
                yield batch.to_pandas()
        except (pa.ArrowInvalid, OSError) as e:
            import re

            names = self._names(path)
            message = re.sub(
                r"In CSV column #(\d+): ",
                lambda m: f"column {names[int(m.group(1))]!r}: " if int(m.group(1)) < len(names) else m.group(0),
                str(e).strip().splitlines()[-1],
            )
            raise TkError(f"{path}: cannot read as {self.kind}: {message}") from None

    def _jsonl_blocks(self, path: Path, columns, rows):
        import pandas as pd

        try:
            with pd.read_json(path, lines=True, chunksize=rows, dtype=False) as reader:
                for frame in reader:
                    yield frame[[c for c in columns if c in frame.columns]]
        except ValueError as e:
            raise TkError(f"{path}: cannot read as jsonl: {str(e).splitlines()[0]}") from None
