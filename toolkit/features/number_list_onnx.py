"""A list of numbers in one string, parsed inside the ONNX graph (the vector and timeseries types).

    RegexFullMatch(raw, LIST)  → which rows are lists of numbers (else missing, blanked)
    cut to cut_chars(width)    → no hostile row widens the batch
    Tokenizer(cut, NUMBER)     → the numbers as strings [N, D] → Cast → values, present, count

The grammar (NUMBER, MAX_LENGTH) and the Python twin are toolkit.data.number_lists; toolkit.features.vector
documents the whole parse. `parse_lists` runs the same graph on a column while fitting.
"""

from __future__ import annotations

import math
from functools import lru_cache

from pydantic import Field, field_validator

from toolkit.data.number_lists import NUMBER, python_numbers
from toolkit.features.base import StrictModel, np
from toolkit.features.date_parse import SPACE

FORBIDDEN_DELIMITERS = set("0123456789.+-eE")
#: Characters read per wanted number (a row is cut to cut_chars(width) before it is tokenized).
CHARS_PER_NUMBER = 64
#: Tokens (numbers) one onnxruntime call may hold: rows per call × numbers per cut row.
MAX_CHUNK_TOKENS = 1 << 23


def list_pattern(delimiter: str | None) -> str:
    """RE2 full match of a list of at least one NUMBER between `delimiter`s (None: runs of spaces)."""
    if delimiter is None:
        return f"{SPACE}*{NUMBER}(?:{SPACE}+{NUMBER})*{SPACE}*"
    d = f"\\x{{{ord(delimiter):x}}}"
    return f"{SPACE}*{NUMBER}(?:{SPACE}*{d}{SPACE}*{NUMBER})*{SPACE}*"


def cut_chars(width: int) -> int:
    """Characters of a row that the graph tokenizes when `width` numbers are wanted (CHARS_PER_NUMBER each)."""
    from toolkit.features.text_tokens import MAX_PIECES, PIECE_CHARS

    return PIECE_CHARS * max(1, min(MAX_PIECES, math.ceil(CHARS_PER_NUMBER * width / PIECE_CHARS)))


def python_window(s: str, delimiter: str | None, width: int) -> list[float] | None:
    """The Python twin of `numbers_onnx(…, width)`: the first `width` numbers of a list, read from its first
    cut_chars(width) characters; None when `s` is not a list."""
    import re

    if python_numbers(s, delimiter) is None:
        return None
    with np.errstate(over="ignore"):
        return [float(np.float32(float(t))) for t in re.findall(NUMBER, s[: cut_chars(width)])[:width]]


def numbers_onnx(g, raw: str, delimiter: str | None, width: int | None, name: str):
    """Emit string [N] → (values float32 [N, W], present bool [N, W], count int64 [N], whole bool [N]).

    whole: the row is a list and was read to its end (not cut).

    W = `width`: the numbers are read from the first cut_chars(width) characters of the row (so a
    hostile row cannot widen the batch; count is then that of the cut row) and the first `width`
    kept, rows with fewer padded. With `width` None (fitting): every number, W the most in the batch
    (at least 1). Rows that are not lists (checked on the whole row) have ok False, count 0 and
    nothing present; they are blanked before the Tokenizer.
    """
    from toolkit.features.text_tokens import PIECE_CHARS, cut_onnx

    i64 = np.int64
    ok = g.op("RegexFullMatch", raw, name=f"{name}/list_ok", pattern=list_pattern(delimiter))
    text = g.op(
        "Where", ok, raw, g.const(np.array("", dtype=object), "string", name=f"{name}/empty"), name=f"{name}/lists"
    )
    if width is not None:
        text = cut_onnx(g, text, cut_chars(width) // PIECE_CHARS, f"{name}/cut")
    tokens = g.op(
        "Tokenizer",
        text,
        name=f"{name}/numbers",
        domain="com.microsoft",
        tokenexp=NUMBER,
        mark=0,
        pad_value="",
        mincharnum=1,
    )
    g.declare(tokens, "string", ["N", f"{name}:numbers"])
    rows = g.op("Shape", raw, name=f"{name}/n", start=0, end=1)
    shape = g.op(
        "Concat",
        rows,
        g.const(np.array([width or 1], dtype=i64), name=f"{name}/pad_width"),
        name=f"{name}/pad_shape",
        axis=0,
    )
    blank = g.const(np.array([[""]], dtype=object), "string", name=f"{name}/blank")
    padded = g.op("Concat", tokens, g.op("Expand", blank, shape, name=f"{name}/blanks"), name=f"{name}/padded", axis=1)
    if width is not None:
        padded = g.op(
            "Slice",
            padded,
            g.const(np.array([0], dtype=i64), name=f"{name}/start"),
            g.const(np.array([width], dtype=i64), name=f"{name}/stop"),
            g.const(np.array([1], dtype=i64), name=f"{name}/axis"),
            name=f"{name}/window",
        )
    g.declare(padded, "string", ["N", width or f"{name}:width"])
    row_ok = g.op("Unsqueeze", ok, g.const(np.array([1], dtype=i64), name=f"{name}/col"), name=f"{name}/row_ok")
    present = g.op(
        "And",
        g.op("Not", g.op("Equal", padded, blank, name=f"{name}/is_blank"), name=f"{name}/filled"),
        row_ok,
        name=f"{name}/present",
    )
    safe = g.op(
        "Where",
        present,
        padded,
        g.const(np.array([["0"]], dtype=object), "string", name=f"{name}/zero"),
        name=f"{name}/safe",
    )
    values = g.op("Cast", g.op("Cast", safe, name=f"{name}/f64", to=11), name=f"{name}/f32", to=1)
    all_tokens = g.op("Not", g.op("Equal", tokens, blank, name=f"{name}/token_blank"), name=f"{name}/is_token")
    count = g.op(
        "ReduceSum",
        g.op("Cast", all_tokens, name=f"{name}/token_1", to=7),
        g.const(np.array([1], dtype=i64), name=f"{name}/sum_axis"),
        name=f"{name}/count_all",
        keepdims=0,
    )
    count = g.op("Where", ok, count, g.const(np.array(0, dtype=i64), name=f"{name}/none"), name=f"{name}/count")
    whole = (
        ok if width is None else g.op("And", ok, g.op("Equal", text, raw, name=f"{name}/uncut"), name=f"{name}/whole")
    )
    return values, present, count, whole


def chunk_rows(width: int) -> int:
    """Rows per onnxruntime call for rows cut to cut_chars(width) (≤ 1 number per 2 characters)."""
    return max(64, min(16384, MAX_CHUNK_TOKENS // (cut_chars(width) // 2)))


@lru_cache(maxsize=8)
def _parse_session(delimiter: str | None):
    import onnxruntime as ort

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.features.pregraph import session_options

    g = GraphBuilder("tk_number_list")
    raw = g.input("raw", "string", ["N"])
    outs = numbers_onnx(g, raw, delimiter, None, "list")
    for name, dtype, value in zip(("values", "present", "count"), ("float32", "bool", "int64"), outs):
        g.op("Identity", value, name=f"list/out_{name}", outputs=[name])
        g.output(name, dtype, None)
    options = session_options()
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(g.build().SerializeToString(), options, providers=["CPUExecutionProvider"])


def parse_lists(strings: np.ndarray, delimiter: str | None, chunk: int = 4096):
    """Run the ONNX list parser over `strings` [N]: yields (values [n, D], present [n, D], count [n]) per chunk."""
    strings = np.asarray(strings, dtype=object)
    session = _parse_session(delimiter)
    for start in range(0, len(strings), chunk):
        yield tuple(session.run(None, {"raw": strings[start : start + chunk]}))


class ListPreprocessing(StrictModel):
    delimiter: str | None = Field(None, description="The one character between numbers; default: spaces.")

    @field_validator("delimiter")
    @classmethod
    def _delimiter_is_not_part_of_a_number(cls, v):
        if v is not None and (len(v) != 1 or v in FORBIDDEN_DELIMITERS or v.isspace()):
            raise ValueError(
                f"delimiter {v!r} must be one character, not a space (leave it out for spaces), digit, sign, point or e"
            )
        return v
