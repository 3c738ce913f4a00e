"""A data file's first rows as strings, stdlib only: what `tk init-config` looks at.

    names, columns, truncated = read_columns(Path("data.csv"))
    # names: [str]; columns: one list per name of str or None (missing), ≤ MAX_ROWS long

CSV/TSV with the csv module, JSON lines with json, Parquet with pyarrow
(imported only for Parquet). JSON and Parquet values are turned into the
strings training sees (toolkit.data.coerce): 1.0 → "1", True → "true", NaN → None.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

from toolkit.data.formats import file_kind
from toolkit.data.number_lists import cell_text
from toolkit.errors import TkError

MAX_ROWS = 100_000


def read_columns(path: Path) -> tuple[list[str], list[list[str | None]], bool]:
    """(column names, values per column as str or None, whether rows were left out)."""
    kind = file_kind(path)
    if not path.exists():
        raise TkError(f"{path}: no such data file")
    if path.is_dir():
        raise TkError(f"{path}: is a directory")
    if path.stat().st_size == 0:
        raise TkError(f"{path}: the data file is empty")
    try:
        if kind == "parquet":
            names, columns, truncated = _read_parquet(path)
        else:
            with path.open(newline="" if kind != "jsonl" else None, encoding="utf-8-sig") as f:
                read = _read_jsonl if kind == "jsonl" else _read_csv
                names, columns, truncated = read(path, f, "\t" if kind == "tsv" else ",")
    except UnicodeDecodeError as e:
        raise TkError(f"{path}: not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise TkError(f"{path}: cannot read: {e.strerror or e}") from None
    if not names:
        raise TkError(f"{path}: no columns")
    if not columns or not columns[0]:
        raise TkError(f"{path}: no rows")
    return names, columns, truncated


def _read_csv(path: Path, f, delimiter: str):
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(f, delimiter=delimiter)
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            raise TkError(f"{path}: the data file is empty")
        names = _header(header)
        rows = [row for row in itertools.islice((r for r in reader if r), MAX_ROWS)]
        truncated = next((r for r in reader if r), None) is not None
    except csv.Error as e:
        raise TkError(f"{path}: cannot parse line {reader.line_num}: {e}") from None
    width = len(names)
    for i, row in enumerate(rows):
        if len(row) > width:
            raise TkError(f"{path}: data row {i + 1} has {len(row)} fields; the header has {width}")
        if len(row) < width:
            rows[i] = row + [""] * (width - len(row))
    return names, list(zip(*rows)) if rows else [[] for _ in names], truncated


def _header(header: list[str]) -> list[str]:
    """Column names as pandas makes them: blank → 'Unnamed: i', repeats → 'a.1'."""
    names, seen = [], set()
    for i, name in enumerate(header):
        name = name or f"Unnamed: {i}"
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        names.append(name)
    return names


def _read_jsonl(path: Path, f, _delimiter):
    records, keys = [], {}
    truncated = False
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        if len(records) == MAX_ROWS:
            truncated = True
            break
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise TkError(f"{path}: line {lineno}: not valid JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise TkError(f"{path}: line {lineno}: expected one JSON object per line, got {type(obj).__name__}")
        records.append(obj)
        keys.update(dict.fromkeys(obj))
    names = list(keys)
    return names, [[_as_string(r.get(k)) for r in records] for k in names], truncated


def _read_parquet(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        meta = pf.schema_arrow.pandas_metadata or {}
        hidden = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
        batch = next(pf.iter_batches(batch_size=MAX_ROWS), None)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise TkError(f"{path}: cannot read as parquet: {str(e).splitlines()[0]}") from None
    if batch is None:
        return [n for n in pf.schema_arrow.names if n not in hidden], [], False
    names = [n for n in batch.schema.names if n not in hidden]
    columns = [[_as_string(v) for v in batch.column(n).to_pylist()] for n in names]
    return names, columns, pf.metadata.num_rows > MAX_ROWS


def _as_string(v) -> str | None:
    """A JSON or Parquet value as the string training sees (toolkit.data.coerce); None if missing."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, list) and v and all(type(x) in (int, float) for x in v):
        return cell_text(v, None)  # a list of numbers: as a vector / timeseries input reads it
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, default=str)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)
