"""init-config's rules for strings with a shape: dates (and their format) and lists of numbers.

Each rule takes a column's summary (`Column` below: its name, its present values with their counts,
the values that parse as numbers) and returns the YAML type to write with a note, or None when the
rule does not apply; toolkit.config.guess applies them in the order its docstring gives. Stdlib only.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Protocol

from toolkit.data.number_lists import MAX_LENGTH, NUMBER

NUMERIC_SHARE = 0.95  # present values that must parse as numbers (or read as dates, or as lists)
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y.%m.%d", "%d-%m-%Y", "%m-%d-%Y")
DATE_TIMES = ("", " %H:%M", " %H:%M:%S")
# toolkit.features.date_parse.ISO_FORMATS: what `format: iso` reads (tests/test_init_config_shapes.py checks they agree)
_ISO_TIMES = ("T%H:%M", " %H:%M", "T%H:%M:%S", " %H:%M:%S", "T%H:%M:%S.%f", " %H:%M:%S.%f")
ISO_FORMATS = ("%Y-%m-%d",) + tuple(f"%Y-%m-%d{t}{z}" for z in ("", "Z", "+00:00") for t in _ISO_TIMES)
LIST_DELIMITERS = (None, ",", ";", "|")  # None: runs of spaces
MAX_LIST_LENGTH = MAX_LENGTH  # toolkit.data.number_lists: the longest list a vector or series may have
EPOCH_RANGE = (946_684_800, 2_208_988_800)  # 2000-01-01 … 2040-01-01 in seconds since 1970


class Column(Protocol):
    """What these rules read of a column (toolkit.config.guess.Column has it)."""

    name: str
    counts: Counter  # present value → rows
    present: int  # rows with a value
    numbers: dict[str, float]  # value → float, for values that parse
    number_rows: int  # rows whose value parses


_LIST_NUMBER = re.compile(NUMBER)  # one number as the graph's tokenizer reads it
_THOUSANDS = re.compile(r"[0-9]{3}")
_TIME_NAME = re.compile(r"(?i).*(time|epoch|stamp|date)|(.*_)?ts|.*_at")
_DATE_SHAPE = re.compile(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}([ T].{0,20})?")
_DATE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


def is_epoch(col: Column) -> bool:
    """A numeric column named like a time whose values are whole seconds in EPOCH_RANGE."""
    lo, hi = EPOCH_RANGE
    return (
        _TIME_NAME.fullmatch(col.name.strip()) is not None
        and col.number_rows == col.present
        and all(x.is_integer() and lo <= x < hi for x in col.numbers.values())
    )


def _reads(col: Column, formats: tuple[str, ...]) -> int:
    """Present rows that one of `formats` reads with datetime.strptime (stops early once < 95 % is certain)."""
    from datetime import datetime

    allowed, read, failed = col.present - NUMERIC_SHARE * col.present, 0, 0
    for value, n in col.counts.items():
        for fmt in formats:
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                continue
            read += n
            break
        else:
            failed += n
            if failed > allowed:
                return read
    return read


def date_format(col: Column) -> tuple[str | None, str] | None:
    """(type, note) of a date column (see the module docstring), (None, why) to skip it, or None."""
    shaped = sum(n for v, n in col.counts.items() if _DATE_SHAPE.fullmatch(v))
    if shaped < NUMERIC_SHARE * col.present:
        return None
    need = NUMERIC_SHARE * col.present
    if _reads(col, ISO_FORMATS) >= need:
        return "date", ""
    readers = [f + t for f in DATE_FORMATS for t in DATE_TIMES]
    good = [f for f in readers if _reads(col, (f,)) >= need]
    if good:
        fmt = good[0]
        note = ""
        swapped = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
        if swapped in good:
            note = f"day and month both read as {swapped!r} too; check which comes first"
        return f"date, preprocessing: {{format: {json.dumps(fmt)}}}", note
    if sum(n for v, n in col.counts.items() if _DATE.fullmatch(v.strip())) >= need:
        return None, (
            "looks like dates with a time zone; tk reads dates as written (2024-01-31 10:20) "
            "or in UTC (…Z): drop the zone"
        )
    return None


def _list_numbers(value: str, delimiter: str | None) -> int:
    """How many numbers `value` lists with `delimiter` (as toolkit.features.vector reads it), or 0."""
    pieces = value.split() if delimiter is None else [p.strip() for p in value.split(delimiter)]
    if not pieces or not all(_LIST_NUMBER.fullmatch(p) for p in pieces):
        return 0
    if delimiter == "," and len(pieces) > 1 and all(_THOUSANDS.fullmatch(p) for p in pieces[1:]):
        return 0  # "1,234,567": one number with thousands separators
    return len(pieces)


def number_list(col: Column) -> tuple[str, str] | None:
    """(vector or timeseries type, note) when ≥ 95 % of the present values are lists of numbers, else None."""
    for d in LIST_DELIMITERS:
        lengths: Counter = Counter()
        for value, n in col.counts.items():
            k = _list_numbers(value, d)
            if k:
                lengths[k] += n
        rows = sum(lengths.values())
        if rows < NUMERIC_SHARE * col.present or max(lengths) < (2 if d is None else 3):
            continue
        extra = "" if d is None else f", delimiter: {json.dumps(d)}"
        if len(lengths) == 1 and max(lengths) <= MAX_LIST_LENGTH:
            size = max(lengths)
            return f"vector, preprocessing: {{size: {size}{extra}}}", f"{size} numbers per row"
        longest = min(max(lengths), MAX_LIST_LENGTH)
        return (
            f"timeseries, preprocessing: {{max_length: {longest}{extra}}}",
            f"{min(lengths)} to {max(lengths)} numbers per row",
        )
    return None
