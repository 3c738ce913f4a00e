"""Lists of numbers in one column (vector and timeseries inputs), outside the graph.

The ONNX graph reads a list as one string ("0.5 1.25 -3", or with a delimiter); this module is
what Python does before it, shared by training (toolkit.data.tables), the Predictor and the server, so a
list is read the same way in each. Numpy only: the runtime must not need pandas or pydantic.

    spec = ListColumn(delimiter=",", size=3)      # size: vectors only (None for a time series)
    strings = spec.join(values)                   # [N] objects: list/tuple/ndarray cells → "1,2.5,3"
    bad = spec.first_bad(strings)                 # (row, why) of the first wrong row, or None

A list cell (a Parquet list column, a JSON array) is written with `repr` of each number (exact for
float64; pyarrow's shortest form for numpy cells), magnitudes beyond float32 as what float32 makes
of them; NaN, infinities and non-numbers (strings, booleans) make the row not a list (missing), as
the graph reads such a string. numpy is imported on first use (`tk config render`
reads the feature configs that import this module, and must not pay for numpy).
"""

from __future__ import annotations

import functools
import math
import re
import sys
from dataclasses import dataclass

#: One number as the graph's Tokenizer reads it: ASCII, optional sign, ≤ 20 digits, an optional point
#: and ≤ 20 digits, an optional 2-digit exponent. "nan", "inf", "1_000" are not numbers.
NUMBER = r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][+-]?[0-9]{1,2})?"
_NUMBER = re.compile(NUMBER)
#: Longest list a vector (and the window of a time series) may have: RE2 repeats at most 1000 times.
MAX_LENGTH = 1000
#: Longest time-series row (characters) tk's runtime reads by default (`preprocessing.max_chars`): a longer
#: row is refused with an error naming it. The graph reads at most 64,000 characters of a row.
SERIES_MAX_CHARS = 100_000


def python_numbers(s: str, delimiter: str | None) -> list[float] | None:
    """The numbers of list string `s` as float32 values, or None when `s` is not a list of numbers.

    The Python twin of the graph's parse (toolkit.features.number_list_onnx.numbers_onnx), its tests' oracle.
    """
    import numpy as np

    pieces = s.split() if delimiter is None else [p.strip() for p in s.split(delimiter)]
    if not pieces or not all(_NUMBER.fullmatch(p) for p in pieces):
        return None
    with np.errstate(over="ignore"):  # beyond float32 → ±inf, as the graph's Cast
        return [float(np.float32(float(p))) for p in pieces]


@functools.lru_cache(maxsize=8)
def _list_regex(delimiter: str | None) -> "re.Pattern":
    """A whole list as python_numbers reads it: NUMBERs between runs of whitespace, or between
    `delimiter`s with whitespace around them allowed.

    Linear time, constant memory: every repeat is possessive and each number atomic, so the engine keeps
    no backtracking state per number (the plain pattern kept ~600 bytes a character: 1.3 GB for an
    8 MB row). Nothing is lost: a delimiter is never a character of a number (ListPreprocessing), so
    in any match each number is a whole run of number characters, which NUMBER's greedy match takes."""
    between = r"\s++" if delimiter is None else rf"\s*+{re.escape(delimiter)}\s*+"
    return re.compile(rf"\s*+(?>{NUMBER})(?:{between}(?>{NUMBER}))*+\s*+")


def _float_text(f: float) -> str:
    """A float as NUMBER reads it: repr, except that magnitudes written with 3-digit exponents become
    what float32 makes of them anyway (below 1e-99: 0; from 1e100: 1e99, which is clamped like inf)."""
    if not math.isfinite(f):
        return str(f)  # nan, inf: not numbers, so the row reads as not a list
    size = abs(f)
    if size < 1e-99:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    if size >= 1e100:
        return "-1e99" if f < 0 else "1e99"
    return repr(f)


def _item_text(v) -> str:
    kind = type(v)
    if kind is float:
        return _float_text(v)
    if kind is int:
        if abs(v) < 10**20:
            return str(v)
        return ("-1e99" if v < 0 else "1e99") if abs(v) >= 10**100 else _float_text(float(v))
    np = sys.modules.get("numpy")  # a numpy scalar exists only once numpy is imported
    if np is not None and not isinstance(v, np.bool_):
        if isinstance(v, np.integer):
            return _item_text(int(v))
        if isinstance(v, np.floating):
            return _float_text(float(v))
    if kind is str:
        return repr(v)  # quoted: a string inside a list is not a number, so the row reads as not a list
    return str(v)  # bool, None, …: not a number either


def _arrow_join(items: list, delimiter: str | None) -> list | None:
    """`cell_text` of every cell in C++ (pyarrow: float64 → shortest round-trip text, then joined), when
    every cell is a 1-D numeric numpy array or None (a Parquet list column, 3x faster); else None.
    Each number reads back as the same float64 as cell_text's repr (both write the shortest such
    text; the forms differ: "1e-7" / "1e-07", "-0" / "-0.0"), so the graph reads the same values."""
    import numpy as np

    if not all(v is None or (type(v) is np.ndarray and v.ndim == 1 and v.dtype.kind in "fiu") for v in items):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    try:
        cells = pa.array(items, type=pa.list_(pa.float64()))
        joined = pc.binary_join(
            pc.cast(cells, pa.list_(pa.string())), " " if delimiter is None else delimiter
        ).to_pylist()
    except (pa.ArrowException, TypeError, ValueError):
        return None
    whole = _list_regex(delimiter)
    # Arrow writes 1e-6..1e-4 in plain decimals, which may pass NUMBER's 20 digits, and big exponents
    # with 3 digits: such rows (and empty or NaN ones) are written again by cell_text
    return [t if t is None or whole.fullmatch(t) else cell_text(items[i], delimiter) for i, t in enumerate(joined)]


def cell_text(cell, delimiter: str | None) -> str:
    """One list cell (list, tuple or 1-D array of numbers) as the delimited string the graph parses."""
    return (" " if delimiter is None else delimiter).join(map(_item_text, cell))


@dataclass(frozen=True)
class ListColumn:
    """How one column holds lists: `delimiter` between numbers (None: spaces), `size` numbers per row
    (a vector's; None for a time series, whose rows may have any length)."""

    delimiter: str | None = None
    size: int | None = None
    max_chars: int | None = None  # a longer row is missing in the graph (a vector's cut): refused before it

    def join(self, values):
        """Column [N] with every list cell written as one delimited string; other cells as they are.

        `values`: a sequence or 1-D array of cells, or a 2-D numeric array (one list per row)."""
        import numpy as np

        cell_types = (list, tuple, np.ndarray)
        if isinstance(values, np.ndarray) and values.ndim == 2:
            values = list(values)
        elif isinstance(values, np.ndarray) and values.dtype != object:
            return values
        items = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if not any(isinstance(v, cell_types) for v in items):
            return values
        out = np.empty(len(items), dtype=object)
        fast = _arrow_join(items, self.delimiter)
        out[:] = (
            fast
            if fast is not None
            else [cell_text(v, self.delimiter) if isinstance(v, cell_types) else v for v in items]
        )
        return out

    def first_bad(self, strings) -> tuple[int, str] | None:
        """(row, why) of the first of `strings` ([N] array or sequence of str) present row that is not a list of `size` numbers; None when all are.

        Missing rows ("" or spaces only) pass: they are missing, as a number's NaN. Time series (size None)
        accept any list, so only a non-list is wrong. One regular-expression match per row (what
        python_numbers reads, without converting the numbers).
        """
        whole = _list_regex(self.delimiter)
        for i, s in enumerate(strings.tolist() if hasattr(strings, "tolist") else strings):
            if not s.strip():
                continue
            if self.max_chars is not None and len(s) > self.max_chars:
                cap = "" if self.size is not None else "; preprocessing.max_chars"
                return i, (
                    f"expected {self.describe()}, got a row of {len(s):,} characters "
                    f"(the model reads at most {self.max_chars:,}{cap})"
                )
            if not whole.fullmatch(s):
                return i, f"expected {self.describe()}, got {s!r:.60}"
            if self.size is not None:
                n = len(s.split()) if self.delimiter is None else s.count(self.delimiter) + 1
                if n != self.size:
                    return i, f"expected {self.describe()}, got {n} number{'s' * (n != 1)}"
        return None

    def describe(self) -> str:
        """'a list of 3 numbers separated by ","' — for messages and schemas."""
        count = f"{self.size} numbers" if self.size is not None else "numbers"
        sep = "spaces" if self.delimiter is None else repr(self.delimiter)
        return f"a list of {count} separated by {sep} (a string or a JSON array)"

    def metadata(self) -> dict:
        """What the ONNX file's tk.features records, for the runtime to rebuild this."""
        return {
            "delimiter": self.delimiter,
            **({"size": self.size} if self.size is not None else {}),
            **({"max_chars": self.max_chars} if self.max_chars is not None else {}),
        }

    @classmethod
    def from_metadata(cls, entry: dict | None) -> "ListColumn | None":
        if not isinstance(entry, dict):
            return None
        size, chars = entry.get("size"), entry.get("max_chars")
        size = size if isinstance(size, int) else None
        if not isinstance(chars, int):  # a file older than the series' cap: the default cap still holds
            chars = SERIES_MAX_CHARS if size is None else None
        return cls(entry.get("delimiter"), size, chars)


def by_column(pairs) -> dict[str, ListColumn]:
    """{column: ListColumn} from (column, ListColumn or None) pairs; where a vector and a time series
    read one column, the vector's (the stricter: a size) is the one checked."""
    out: dict[str, ListColumn] = {}
    for column, spec in pairs:
        if spec is not None and (column not in out or out[column].size is None):
            out[column] = spec
    return out
