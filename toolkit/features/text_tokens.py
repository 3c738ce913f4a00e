r"""The text tokenizer, written once as ONNX, and what is fitted from its tokens.

    ids = g.input … tokens_to_onnx(g, raw, TOKEN_PATTERN, lowercase, name)   # string [N] → tokens [N, D]
    tokenize(strings, pattern, lowercase, pieces) → the same tokens, run in onnxruntime (for fitting)
    count_tokens / document_frequencies / rank / smooth_idf → vocabulary and idf
    cut_onnx, pad_truncate_onnx, lookup_onnx → the other steps of the text graph

toolkit.features.text (the text feature) and toolkit.features.set (sets split
on a delimiter) build their graphs from these; toolkit.stream.fit fits from
them chunk by chunk. `python_tokens`, `python_cut` and `python_lower` are the
Python twins, used only as test oracles (see toolkit.features.text's docstring
for what the twins agree on).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from toolkit.features.base import np  # numpy, lazily

PAD_ID, UNKNOWN_ID, FIRST_ID = 0, 1, 2

#: RE2 patterns for the com.microsoft Tokenizer. `\p{Z}` and the control
#: characters \t-\r, \x1c-\x1f, \x85 are what Python's str.isspace() calls space.
_SPACE = r"\p{Z}\t-\r\x{1c}-\x{1f}\x{85}"
TOKEN_PATTERN = r"[\p{L}\p{N}_]+|[^\p{L}\p{N}_" + _SPACE + "]"
WORD_PATTERN = r"[\p{L}\p{N}_]+"
#: The Python twins (oracle only).
PY_TOKEN = re.compile(r"[^\W]+|[^\w\s]")
PY_WORD = re.compile(r"[^\W]+")

#: Characters tokenized per onnxruntime call while fitting (bounds memory).
FIT_CHUNK_CHARS = 1_000_000
#: A text is read up to its first cut_pieces(max_length) × PIECE_CHARS characters.
PIECE_CHARS, CHARS_PER_TOKEN, MAX_PIECES = 1000, 16, 64


def python_lower(s: str) -> str:
    """What StringNormalizer(LOWER, C.UTF-8) does: lowercase each code point alone."""
    return "".join("i" if c == "\u0130" else c.lower() for c in s)


def python_tokens(s: str, lowercase: bool = True, punctuation: bool = True) -> list[str]:
    """The Python twin of the ONNX tokenizer (an oracle for tests, not used in training)."""
    return (PY_TOKEN if punctuation else PY_WORD).findall(python_lower(s) if lowercase else s)


def tokens_to_onnx(g, raw: str, pattern: str, lowercase: bool, name: str) -> str:
    """Emit string [N] → string tokens [N, D] padded with "" (D = most tokens in the batch).

    `pattern` is an RE2 expression whose matches are the tokens.
    """
    x = raw
    if lowercase:
        x = g.op("StringNormalizer", x, name=f"{name}/lower", case_change_action="LOWER", locale="C.UTF-8")
    tokens = g.op(
        "Tokenizer",
        x,
        name=f"{name}/tokenize",
        domain="com.microsoft",
        tokenexp=pattern,
        mark=0,
        pad_value="",
        mincharnum=1,
    )
    g.declare(tokens, "string", ["N", f"{name}:tokens"])  # see DESIGN.md: the checker needs it
    return tokens


@lru_cache(maxsize=8)
def _tokenizer_session(pattern: str, lowercase: bool, pieces: int):
    import onnxruntime as ort

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.features.pregraph import session_options

    g = GraphBuilder("tk_tokenize")
    text = g.input("text", "string", ["N"])
    if pieces:
        text = cut_onnx(g, text, pieces, "text")
    tokens = tokens_to_onnx(g, text, pattern, lowercase, "text")
    g.op("Identity", tokens, name="text/out", outputs=["tokens"])
    g.output("tokens", "string", ["N", "D"])
    options = session_options()
    options.enable_cpu_mem_arena = False  # give the chunks' memory back: fitting runs once
    return ort.InferenceSession(g.build().SerializeToString(), options, providers=["CPUExecutionProvider"])


def tokenize(
    strings: np.ndarray, pattern: str = TOKEN_PATTERN, lowercase: bool = True, pieces: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Run the ONNX tokenizer over `strings` [N]: yields (row indices [n], tokens [n, D]).

    With `pieces`, each text is first cut as `cut_onnx` does (the graph of a text feature).

    Rows go shortest first in chunks of at most FIT_CHUNK_CHARS characters of
    padded width, so one long row does not make every row of a big batch wide.
    """
    strings = np.asarray(strings, dtype=object)
    if len(strings) == 0:
        return
    session = _tokenizer_session(pattern, lowercase, pieces)
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    if pieces:
        lengths = np.minimum(lengths, pieces * PIECE_CHARS)
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop + 1 - start) * max(1, lengths[order[stop]]) <= FIT_CHUNK_CHARS:
            stop += 1
        rows = order[start:stop]
        yield rows, session.run(None, {"text": strings[rows]})[0]
        start = stop


def _grams(row: list[str], ngrams: int) -> tuple[list[str], list[str]]:
    words = [t for t in row if t]
    return words, ([f"{a} {b}" for a, b in zip(words, words[1:])] if ngrams == 2 else [])


def count_tokens(
    strings: np.ndarray, pattern: str, lowercase: bool, pieces: int, ngrams: int = 1
) -> tuple[Counter, Counter]:
    """(token counts, bigram counts) over `strings`, tokenized by the ONNX graph."""
    counts, bigrams = Counter(), Counter()
    for _, tokens in tokenize(strings, pattern, lowercase, pieces):
        for row in tokens.tolist():
            words, pairs = _grams(row, ngrams)
            counts.update(words)
            bigrams.update(pairs)
    return counts, bigrams


def document_frequencies(
    strings: np.ndarray, pattern: str, lowercase: bool, pieces: int, ngrams: int, vocab: set[str], bigrams: set[str]
) -> tuple[Counter, int]:
    """(documents holding each kept token or bigram, documents holding a token outside `vocab`).

    A second pass, so that only kept keys are counted (a first-pass Counter of
    every distinct bigram's documents would double the memory of fitting).
    """
    docs, unknown = Counter(), 0
    for _, tokens in tokenize(strings, pattern, lowercase, pieces):
        for row in tokens.tolist():
            words, pairs = _grams(row, ngrams)
            seen = set(words)
            docs.update(seen & vocab)
            docs.update(set(pairs) & bigrams)
            unknown += not seen <= vocab
    return docs, unknown


def smooth_idf(df: int, n_docs: int) -> float:
    """scikit-learn's smooth idf: ln((1 + n) / (1 + df)) + 1."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def pad_truncate_onnx(g, ids: str, length: int, name: str) -> str:
    """int64 [N, D] → [N, length]: append `length` pad ids, keep the first `length`."""
    i64 = np.int64
    rows = g.op("Shape", ids, name=f"{name}/rows", start=0, end=1)
    shape = g.op(
        "Concat", rows, g.const(np.array([length], dtype=i64), name=f"{name}/length"), name=f"{name}/pad_shape", axis=0
    )
    from toolkit.common.onnxgraph import tensor

    pads = g.op("ConstantOfShape", shape, name=f"{name}/pads", value=tensor("value", np.array([PAD_ID], dtype=i64)))
    joined = g.op("Concat", ids, pads, name=f"{name}/append", axis=1)
    return g.op(
        "Slice",
        joined,
        g.const(np.array([0], dtype=i64), name=f"{name}/start"),
        g.const(np.array([length], dtype=i64), name=f"{name}/stop"),
        g.const(np.array([1], dtype=i64), name=f"{name}/axis"),
        name=f"{name}/truncate",
    )


def cut_pieces(max_length: int) -> int:
    """How many PIECE_CHARS-long pieces of a text are read: 16 characters per token, at most 64 pieces."""
    return max(1, min(MAX_PIECES, math.ceil(CHARS_PER_TOKEN * max_length / PIECE_CHARS)))


def python_cut(s: str, max_length: int) -> str:
    """The Python twin of `cut_onnx`: the first characters (code points) that are read."""
    return s[: cut_pieces(max_length) * PIECE_CHARS]


def cut_onnx(g, raw: str, pieces: int, name: str) -> str:
    """Emit string [N] → string [N]: each text cut to its first `pieces` × PIECE_CHARS code points.

    There is no substring op: a Tokenizer matching `(?s).{1,PIECE_CHARS}` cuts
    the text into pieces (RE2 allows at most 1000 repeats), a column of "" is
    appended (so an all-empty batch still has a first piece), and the first
    pieces are joined again. This bounds the tokenizer's work and memory on a
    huge text, whatever the batch.
    """
    i64 = np.int64
    parts = g.op(
        "Tokenizer",
        raw,
        name=f"{name}/pieces",
        domain="com.microsoft",
        tokenexp=f"(?s).{{1,{PIECE_CHARS}}}",
        mark=0,
        pad_value="",
        mincharnum=1,
    )
    g.declare(parts, "string", ["N", f"{name}:pieces"])
    rows = g.op("Shape", raw, name=f"{name}/n", start=0, end=1)
    shape = g.op(
        "Concat",
        rows,
        g.const(np.array([pieces], dtype=i64), name=f"{name}/n_pieces"),
        name=f"{name}/blank_shape",
        axis=0,
    )
    blank = g.op(
        "Expand", g.const(np.array([[""]], dtype=object), "string", name=f"{name}/blank"), shape, name=f"{name}/blanks"
    )
    padded = g.op("Concat", parts, blank, name=f"{name}/padded", axis=1)
    text = None
    for k in range(pieces):
        piece = g.op("Gather", padded, g.const(np.array(k, dtype=i64), name=f"{name}/k"), name=f"{name}/piece", axis=1)
        text = piece if text is None else g.op("StringConcat", text, piece, name=f"{name}/join")
    return text


def lookup_onnx(g, tokens: str, keys: list[str], first_id: int, default: int, name: str) -> str:
    """string [N, D] → int64 [N, D]: keys[i] → first_id + i, "" → PAD_ID, else `default`."""
    from toolkit.common.onnxgraph import tensor

    values = np.array([PAD_ID] + list(range(first_id, first_id + len(keys))), dtype=np.int64)
    return g.op(
        "LabelEncoder",
        tokens,
        name=name,
        domain="ai.onnx.ml",
        keys_tensor=tensor("keys", [""] + list(keys), "string"),
        values_tensor=tensor("values", values),
        default_tensor=tensor("default", np.array([default], dtype=np.int64)),
    )
