"""Turn raw column values into what an ONNX input takes: float32 or strings.

Shared by training (toolkit.data.tables) and inference (toolkit.runtime.predictor) so a value is
coerced the same way in both. Numpy only: the runtime must not need pandas.

- Number inputs: numbers pass; numeric strings (" 3.5 ", "1e3") are parsed;
  anything else ("", "abc", None) becomes NaN and is counted.
- String inputs: None/NaN become "" (missing); integral floats print without
  ".0" (so a 0/1 column read as 1.0 still reads "1"); booleans become
  "true"/"false"; other values go through `str`.
"""

from __future__ import annotations

import math

import numpy as np

#: Cells that are not one value (a JSON object or array, a Parquet list): an error in a string column.
CONTAINERS = (dict, list, tuple, set, np.ndarray)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def to_float32(values) -> tuple[np.ndarray, int]:
    """Coerce one column to float32 [N]; returns (array, number of unparseable values).

    Missing values (None, NaN, "") become NaN and are not counted as unparseable.
    """
    with np.errstate(over="ignore"):  # beyond float32's range → ±inf, which features clamp
        return _to_float32(values)


def _to_float32(values) -> tuple[np.ndarray, int]:
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float32, copy=False).reshape(-1), 0
    arr = np.asarray(arr, dtype=object).reshape(-1)
    try:  # fast path: every entry is a number, NaN or a numeric string
        return arr.astype(np.float64).astype(np.float32), 0
    except (TypeError, ValueError):
        pass
    out = np.empty(len(arr), dtype=np.float32)
    bad = 0
    for i, v in enumerate(arr):
        out[i], is_bad = _parse_float(v)
        bad += is_bad
    return out, bad


def is_missing_text(v) -> bool:
    """True for values that mean 'missing' in a number column (None, NaN, "", "NA", …)."""
    if _is_missing(v):
        return True
    return isinstance(v, str) and v.strip().lower() in MISSING_WORDS


MISSING_WORDS = ("", "nan", "na", "n/a", "null", "none")


def _parse_float(v) -> tuple[float, bool]:
    if _is_missing(v):
        return math.nan, False
    if isinstance(v, (bool, np.bool_)):
        return float(v), False
    if isinstance(v, (int, float, np.number)):
        return float(v), False
    if isinstance(v, (dict, list, tuple, set, bytes)):
        return math.nan, True
    s = str(v).strip()
    if s.lower() in MISSING_WORDS:
        return math.nan, False
    try:
        return float(s), False
    except ValueError:
        return math.nan, True


def to_strings(values) -> np.ndarray:
    """Coerce one column to an object array of str [N]; missing becomes ""."""
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return without_surrogates(arr.astype(object).reshape(-1))
    if arr.dtype.kind == "b":
        return np.where(arr, "true", "false").astype(object).reshape(-1)
    if arr.dtype.kind in "iu":
        return arr.astype(str).astype(object).reshape(-1)
    if arr.dtype.kind == "f":
        return _float_strings(arr.reshape(-1))
    arr = np.asarray(arr, dtype=object).reshape(-1)
    out = np.empty(len(arr), dtype=object)
    out[:] = [v if type(v) is str else _one_string(v) for v in arr.tolist()]
    return without_surrogates(out)


def without_surrogates(strings: np.ndarray) -> np.ndarray:
    """Replace lone UTF-16 surrogates (which onnxruntime cannot encode) with U+FFFD."""
    try:  # one C-level pass in the common case
        "".join(strings.tolist()).encode("utf-8")
        return strings
    except UnicodeEncodeError:
        pass
    bad = [i for i, s in enumerate(strings.tolist()) if _has_surrogate(s)]
    for i in bad:
        strings[i] = strings[i].encode("utf-8", "replace").decode("utf-8")
    return strings


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _float_strings(arr: np.ndarray) -> np.ndarray:
    out = np.empty(len(arr), dtype=object)
    out[:] = [_one_string(v) for v in arr.tolist()]
    return out


def _one_string(v) -> str:
    kind = type(v)
    if kind is str:
        return v
    if kind is int:
        return str(v)
    if kind is float:
        return "" if v != v else (str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))
    if isinstance(v, CONTAINERS):
        raise TypeError(f"expected a string, got {kind.__name__}")
    if _is_missing(v):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if math.isfinite(v) and float(v).is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(float(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)
