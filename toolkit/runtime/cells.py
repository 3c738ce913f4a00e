"""Cell values → the arrays a tk ONNX file's inputs take: float32 [N] for numbers, strings [N] (object)
for everything else, coerced as training coerced them (toolkit.data.coerce): numbers may arrive as ints or
numeric strings, string columns accept numbers and booleans, missing values are None/NaN/"". Anything else
is a PredictorError naming the row, the column, the expected type and the value. The common serving
shapes (one record, plain Python numbers or ASCII strings, small ints) skip coerce.
"""

from __future__ import annotations

import numpy as np

from toolkit.data import coerce
from toolkit.data.number_lists import ListColumn
from toolkit.errors import TkError

_NUMBER_TYPES = {int, float}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SMALL_INT_MIN = -128
_SMALL_INT_TEXT = {i: str(i) for i in range(_SMALL_INT_MIN, 1024)}  # str(i), shared rather than rebuilt
_SMALL_INT_ARRAY = np.array(list(_SMALL_INT_TEXT.values()), dtype=object)


class PredictorError(TkError, ValueError):
    """Bad input to a Predictor: names the column (and row when known)."""


def _object_array(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _huge_int(values, column: str, why: str) -> PredictorError | None:
    """The error for the first int in `values` that Python cannot make `why` of: a "number" (float() of
    an int beyond float64) or a "string" (str() of an int over sys.get_int_max_str_digits() digits)."""
    flat = values if isinstance(values, (list, tuple)) else np.asarray(values, dtype=object).reshape(-1).tolist()
    convert = float if why == "number" else str
    for row, v in enumerate(flat):
        if isinstance(v, int) and v.bit_length() > 1000:
            try:
                convert(v)
            except (OverflowError, ValueError):
                digits = int(v.bit_length() * 0.30103) + 1
                expected = (
                    "a number (this int is beyond float64)"
                    if why == "number"
                    else "a string (this int has too many digits to write)"
                )
                return PredictorError(
                    f"rows[{row}].{column}: expected {expected}, got an int of about {digits:,} digits"
                )
    return None


def as_float(values, column: str) -> np.ndarray:
    try:
        return _as_float32(values, column)
    except OverflowError:  # an int beyond float64 (Python's float() of 10**400)
        error = _huge_int(values, column, "number")
        if error is None:
            raise
        raise error from None


def _as_float32(values, column: str) -> np.ndarray:
    if isinstance(values, (list, tuple)):
        if len(values) == 1 and type(values[0]) in _NUMBER_TYPES and abs(values[0]) < _FLOAT32_MAX:
            return np.array([float(values[0])], dtype=np.float32)  # one record: the common serving case
        kinds = set(map(type, values))
        if kinds and kinds <= _NUMBER_TYPES:  # plain Python numbers: what coerce would do, faster
            with np.errstate(over="ignore"):
                return np.array(values, dtype=np.float64).astype(np.float32)
        values = _object_array(values)
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        return values.astype(np.float32, copy=False).reshape(-1)
    out, bad = coerce.to_float32(values)
    if bad:
        flat = np.asarray(values, dtype=object).reshape(-1)
        row = next(i for i, v in enumerate(flat) if np.isnan(out[i]) and not coerce.is_missing_text(v))
        raise PredictorError(
            f"rows[{row}].{column}: expected a number, got {type(flat[row]).__name__} {flat[row]!r:.60}"
        )
    return out


def as_list_strings(values, column: str, lists: ListColumn, checked: bool = False) -> np.ndarray:
    """A vector / timeseries column: list cells joined, then every present row checked (error naming it),
    unless the caller `checked` them already."""
    strings = as_strings(lists.join(values), column)
    bad = None if checked else lists.first_bad(strings)
    if bad is not None:
        raise PredictorError(f"rows[{bad[0]}].{column}: {bad[1]}")
    return strings


def as_strings(values, column: str) -> np.ndarray:
    try:
        return _strings(values, column)
    except ValueError:  # str() of an int over 4,300 digits (sys.int_info.default_max_str_digits)
        error = _huge_int(values, column, "string")
        if error is None:
            raise
        raise error from None


def _strings(values, column: str) -> np.ndarray:
    if isinstance(values, (list, tuple)) and len(values) == 1 and type(values[0]) is str and values[0].isascii():
        return np.array(values, dtype=object)  # one record's ASCII string: nothing to coerce
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and values.size:
        flat = values.reshape(-1)
        if flat.min() >= _SMALL_INT_MIN and flat.max() < _SMALL_INT_MIN + len(_SMALL_INT_ARRAY):
            return _SMALL_INT_ARRAY[flat.astype(np.int64) - _SMALL_INT_MIN]  # str(i), gathered
    if isinstance(values, (list, tuple)) or (
        isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1
    ):
        items = values if isinstance(values, (list, tuple)) else values.tolist()
        kinds = set(map(type, items))
        if kinds == {str}:  # the common case: strings already (lone surrogates still go to coerce)
            try:
                "".join(items).encode("utf-8")
                return values if isinstance(values, np.ndarray) else np.array(items, dtype=object)
            except UnicodeEncodeError:
                pass
        elif kinds == {int}:  # 0/1 columns read as numbers: str(int), as coerce does
            try:
                return np.array(list(map(_SMALL_INT_TEXT.__getitem__, items)), dtype=object)
            except KeyError:
                return np.array(list(map(str, items)), dtype=object)
        if not isinstance(values, np.ndarray):
            values = _object_array(items)
    try:
        return coerce.to_strings(values)
    except TypeError:
        flat = np.asarray(values, dtype=object).reshape(-1)
        row = next(i for i, v in enumerate(flat) if isinstance(v, coerce.CONTAINERS))
        raise PredictorError(f"rows[{row}].{column}: expected a string, got {type(flat[row]).__name__}") from None
