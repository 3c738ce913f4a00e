"""Reading tables, pulling typed columns out of them, and splitting rows.

Readers: CSV, TSV, Parquet, JSON lines (and pandas DataFrames as they are).
Every problem is a TkError naming the file, the column or the row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from toolkit.common import log
from toolkit.data import coerce
from toolkit.data.formats import file_kind
from toolkit.data.raw_types import RAW_FLOAT
from toolkit.errors import TkError

if TYPE_CHECKING:
    import pandas as pd

SPLIT_NAMES = {"0": 0, "1": 1, "2": 2, "train": 0, "training": 0, "validation": 1, "valid": 1, "val": 1, "test": 2}


def read_table(source: "str | Path | pd.DataFrame") -> "pd.DataFrame":
    """A DataFrame from a path (by suffix) or a DataFrame (returned as is)."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    kind = file_kind(path)
    if not path.exists():
        raise TkError(f"{path}: no such data file")
    if path.is_dir() or path.stat().st_size == 0:
        raise TkError(f"{path}: the data file is empty" if not path.is_dir() else f"{path}: is a directory")
    try:
        if kind in ("csv", "tsv"):
            df = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", low_memory=False)
        elif kind == "parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_json(path, lines=True, dtype=False)  # as the streaming reader; no type or date guessing
    except pd.errors.EmptyDataError:
        raise TkError(f"{path}: the data file is empty") from None
    except pd.errors.ParserError as e:
        raise TkError(f"{path}: cannot parse: {str(e).strip().splitlines()[-1]}") from None
    except UnicodeDecodeError as e:
        raise TkError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (ValueError, OSError) as e:
        raise TkError(f"{path}: cannot read as {kind}: {str(e).splitlines()[0]}") from None
    if len(df.columns) == 0:
        raise TkError(f"{path}: no columns")
    if len(df) == 0:
        raise TkError(f"{path}: no rows")
    return df


def column_values(df: "pd.DataFrame", name: str) -> np.ndarray:
    """One column as a numpy array with missing as None/NaN (nullable dtypes unwrapped)."""
    series = df[name]
    if str(series.dtype) in ("object",) or series.dtype.kind in "fiub":
        return series.to_numpy()
    return series.to_numpy(dtype=object, na_value=None)


def check_columns(df: "pd.DataFrame", wanted: dict[str, str], source: str) -> None:
    """Raise TkError when a column named by the config is not in the data.

    `wanted` maps column → where the config names it (e.g. input_features[2]).
    """
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        where = "; ".join(f"{wanted[c]} column {c!r}" for c in missing)
        has = ", ".join(map(str, df.columns[:40])) + (" …" if len(df.columns) > 40 else "")
        raise TkError(f"{source}: no such column: {where}; the data has: {has}")


def raw_column(
    df: "pd.DataFrame", column: str, raw_dtype: str, source: str, strict: bool = False, lists=None
) -> np.ndarray:
    """A column coerced to what the ONNX input takes.

    Unparseable numbers are counted and treated as missing when training
    (`strict=False`); at prediction (`strict=True`) they are an error naming
    the row, as the Predictor's are. `lists` (a number_lists.ListColumn, for
    vector and timeseries inputs): list cells (Parquet lists, JSON arrays)
    become the delimited string the graph parses, and at prediction a row that
    is not such a list is an error naming it. Any other list or mapping in a
    string column is an error.
    """
    values = column_values(df, column)
    if lists is None:
        return _coerced(values, column, raw_dtype, source, strict)
    strings = _coerced(lists.join(values), column, raw_dtype, source, strict)
    bad = lists.first_bad(strings) if strict else None
    if bad is not None:
        raise TkError(f"{source}: row {bad[0] + 1}: column {column!r}: {bad[1]}")
    return strings


def _coerced(values, column: str, raw_dtype: str, source: str, strict: bool) -> np.ndarray:
    if raw_dtype == RAW_FLOAT:
        out, bad = coerce.to_float32(values)
        if bad and strict:
            flat = np.asarray(values, dtype=object).reshape(-1)
            row = next(i for i, v in enumerate(flat) if np.isnan(out[i]) and not coerce.is_missing_text(v))
            raise TkError(
                f"{source}: row {row + 1}: column {column!r}: expected a number, "
                f"got {type(flat[row]).__name__} {flat[row]!r:.60}"
            )
        if bad:
            log.warn(f"{source}: column {column!r}: {bad} value(s) are not numbers; treated as missing")
        return out
    try:
        return coerce.to_strings(values)
    except TypeError:
        flat = np.asarray(values, dtype=object).reshape(-1)
        row = next(i for i, v in enumerate(flat) if isinstance(v, coerce.CONTAINERS))
        raise TkError(
            f"{source}: row {row + 1}: column {column!r}: expected a string, got {type(flat[row]).__name__}"
        ) from None


def split_rows(df: "pd.DataFrame", split, target: np.ndarray | None, source: str) -> np.ndarray:
    """Assign each row to 0 (train), 1 (validation) or 2 (test): int8 [N].

    `split` is the config's split block; `target` the stratification labels.
    """
    n = len(df)
    if split.type == "fixed":
        if split.column not in df.columns:
            raise TkError(
                f"preprocessing.split.column: no column {split.column!r} in {source}; "
                f"the data has: {', '.join(map(str, df.columns[:40]))}"
            )
        raw = coerce.to_strings(column_values(df, split.column))
        out = np.full(n, -1, dtype=np.int8)
        for value, part in SPLIT_NAMES.items():
            out[np.char.lower(raw.astype(str)) == value] = part
        bad = np.flatnonzero(out < 0)
        if len(bad):
            raise TkError(
                f"{source}: row {bad[0] + 1}: column {split.column!r} holds {raw[bad[0]]!r}; "
                f"expected 0/1/2 or train/validation/test ({len(bad)} such row{'s' if len(bad) > 1 else ''})"
            )
        return out
    rng = np.random.default_rng(split.seed)
    out = np.empty(n, dtype=np.int8)
    groups = [np.arange(n)]
    if split.type == "stratified" and target is not None:
        _, inverse = np.unique(target.astype(str), return_inverse=True)
        groups = [np.flatnonzero(inverse == k) for k in range(inverse.max() + 1)]
    for rows in groups:
        rows = rng.permutation(rows)
        n_train = int(round(split.ratios[0] * len(rows)))
        n_val = int(round(split.ratios[1] * len(rows)))
        out[rows[:n_train]] = 0
        out[rows[n_train : n_train + n_val]] = 1
        out[rows[n_train + n_val :]] = 2
    return out
