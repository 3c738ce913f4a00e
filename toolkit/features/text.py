r"""Text input feature: free text → token ids [N, L].

Input preprocessing (ONNX, string [N] → int64 [N, L], or [N, 2L] with bigrams):
    cut to the first k × 1000 characters, k = ceil(16 · L / 1000) ≤ 64
      (a Tokenizer matching `(?s).{1,1000}`, then StringConcat: no substring op)
    → optional StringNormalizer(lower, locale C.UTF-8)
    → com.microsoft Tokenizer with TOKEN_PATTERN (words of letters, digits and
      "_", plus every other non-space character as a token of its own) or
      WORD_PATTERN (words only, `punctuation: false`) → string [N, D]
    → keep the first L tokens → LabelEncoder(vocabulary → id): 0 = padding,
      1 = unknown, 2… = the vocabulary, most frequent first (ties alphabetically)
    → pad with 0 to L (Concat a ConstantOfShape, Slice).
    With `ngrams: 2` the bigrams "w1 w2" of the first L + 1 tokens are looked
    up in a second vocabulary (ids after the unigrams; unseen bigrams are 0,
    padding, not unknown) and appended as L more ids: [N, 2L]. Zeros may then
    sit between bigram ids; only the (order-blind) embed encoder reads them.
State: the vocabulary, the bigrams, and each id's smooth idf
ln((1 + n) / (1 + df)) + 1 over the training rows (padding 0; unknown counted
like a token), used by the default idf-weighted pooling.

The Python twin of the ONNX transform (used only as the oracle in tests) is
`re.findall(r"[^\W]+|[^\w\s]", python_lower(python_cut(s, L)))`.
TOKEN_PATTERN spells out Python's `\s` because RE2's `\s` is ASCII-only: a
no-break space or an ideographic space separates tokens in both. The two
agree on every code point assigned in Python's Unicode database (a test checks
each one); code points Python does not know yet (newer scripts) may be letters
to RE2 and punctuation to Python. StringNormalizer lowercases code point by
code point, so "Σ" is always "σ" (no final-sigma rule) and "İ" becomes "i";
`python_lower` does the same.

The vocabulary is fitted from tokens produced by the SAME ONNX graph (cut,
lowercase, tokenize, run in onnxruntime by `tokenize`), so training, serving
and the vocabulary can never disagree, whatever the platform's Unicode tables
say; tests show the Python twin gives the same vocabulary.

Empty, whitespace-only and missing text give all-padding rows. The tokenizer
holds rows × (most tokens in a row) strings: the cut bounds the second factor,
`tokenize` feeds rows sorted by length in bounded chunks while fitting, and
`max_chunk_rows` asks the preprocessing runner for small chunks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Iterator, Literal

from pydantic import Field, model_validator

from toolkit.features.base import RAW_STRING, FeatureConfig, StrictModel, np  # numpy, lazily

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


class TextPreprocessing(StrictModel):
    lowercase: bool = Field(True, description="Lowercase before tokenizing (Unicode, per code point).")
    punctuation: bool = Field(True, description="Keep punctuation marks as tokens; false keeps words only.")
    max_length: int = Field(256, ge=1, le=100_000, description="Tokens kept per row (truncate / pad).")
    max_size: int = Field(20_000, ge=1, description="Most frequent tokens kept (and as many bigrams).")
    min_count: int = Field(2, ge=1, description="Tokens seen fewer times in training become unknown.")
    ngrams: Literal[1, 2] = Field(1, description="2 adds word bigrams (embed encoder only).")


#: Keys that apply to one encoder type only, with their defaults (None in the config = this default).
_ENCODER_KEYS = {
    "embed": {"pooling": "idf_mean"},
    "cnn": {"filters": 64, "kernel_sizes": [2, 3, 4, 5]},
    "transformer": {"num_layers": 1, "num_heads": 4, "pooling": "mean"},
    "gru": {"hidden_size": 64, "num_layers": 1, "pooling": "mean"},
}


class TextEncoder(StrictModel):
    """Keys shared by the text encoders, and keys of some types only (left null for the others)."""

    type: Literal["embed", "cnn", "transformer", "gru"] = "embed"
    dim: int = Field(64, gt=0, description="Token embedding size.")
    dropout: float = Field(0.1, ge=0, lt=1)
    pooling: Literal["idf_mean", "mean", "max"] | None = Field(
        None, description="embed, gru, transformer: token vectors → one vector; "
                          "default idf_mean for embed, mean otherwise.")
    filters: int | None = Field(None, gt=0, description="cnn: filters per kernel size (default 64).")
    kernel_sizes: list[int] | None = Field(None, min_length=1, description="cnn: widths (default [2, 3, 4, 5]).")
    num_layers: int | None = Field(None, ge=1, description="transformer, gru: layers (default 1).")
    num_heads: int | None = Field(None, gt=0, description="transformer: heads, dividing dim (default 4).")
    hidden_size: int | None = Field(None, gt=0, description="gru: hidden size per direction (default 64).")

    @model_validator(mode="after")
    def _keys_of_this_type(self):
        own = _ENCODER_KEYS[self.type]
        others = set().union(*_ENCODER_KEYS.values()) - set(own)
        stray = sorted(k for k in others if getattr(self, k) is not None)
        if stray:
            raise ValueError(f"{', '.join(stray)} do(es) not apply to the {self.type} encoder "
                             f"(its own keys: {', '.join(sorted(own))})")
        if self.kernel_sizes is not None and any(k < 1 for k in self.kernel_sizes):
            raise ValueError(f"kernel_sizes must be >= 1, got {self.kernel_sizes}")
        if self.type == "transformer" and self.dim % self.get("num_heads"):
            raise ValueError(f"dim ({self.dim}) must be a multiple of num_heads ({self.get('num_heads')})")
        return self

    def get(self, key: str):
        """The value of a type-specific key: as configured, else this type's default."""
        value = getattr(self, key)
        return _ENCODER_KEYS[self.type][key] if value is None else value


class TextInputConfig(FeatureConfig):
    type: Literal["text"]
    preprocessing: TextPreprocessing = TextPreprocessing()
    encoder: TextEncoder = TextEncoder()

    @model_validator(mode="after")
    def _bigrams_need_a_bag(self):
        if self.preprocessing.ngrams == 2 and self.encoder.type != "embed":
            raise ValueError(f"preprocessing.ngrams: 2 needs encoder type embed (a bag of tokens); "
                             f"the {self.encoder.type} encoder reads the tokens in order")
        return self


# ---- tokenizing ----------------------------------------------------------------

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
    tokens = g.op("Tokenizer", x, name=f"{name}/tokenize", domain="com.microsoft", tokenexp=pattern,
                  mark=0, pad_value="", mincharnum=1)
    g.declare(tokens, "string", ["N", f"{name}:tokens"])  # see DESIGN.md: the checker needs it
    return tokens


@lru_cache(maxsize=8)
def _tokenizer_session(pattern: str, lowercase: bool, pieces: int):
    import onnxruntime as ort

    from toolkit.onnxgraph import GraphBuilder
    from toolkit.preprocess import session_options

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


def tokenize(strings: np.ndarray, pattern: str = TOKEN_PATTERN, lowercase: bool = True, pieces: int = 0
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


def count_tokens(strings: np.ndarray, pattern: str, lowercase: bool, pieces: int, ngrams: int = 1
                 ) -> tuple[Counter, Counter]:
    """(token counts, bigram counts) over `strings`, tokenized by the ONNX graph."""
    counts, bigrams = Counter(), Counter()
    for _, tokens in tokenize(strings, pattern, lowercase, pieces):
        for row in tokens.tolist():
            words, pairs = _grams(row, ngrams)
            counts.update(words)
            bigrams.update(pairs)
    return counts, bigrams


def document_frequencies(strings: np.ndarray, pattern: str, lowercase: bool, pieces: int, ngrams: int,
                         vocab: set[str], bigrams: set[str]) -> tuple[Counter, int]:
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


def rank(counts: Counter, min_count: int, max_size: int) -> list[str]:
    """Tokens seen at least `min_count` times, most frequent first, ties alphabetically."""
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return kept[:max_size]


def smooth_idf(df: int, n_docs: int) -> float:
    """scikit-learn's smooth idf: ln((1 + n) / (1 + df)) + 1."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def pad_truncate_onnx(g, ids: str, length: int, name: str) -> str:
    """int64 [N, D] → [N, length]: append `length` pad ids, keep the first `length`."""
    i64 = np.int64
    rows = g.op("Shape", ids, name=f"{name}/rows", start=0, end=1)
    shape = g.op("Concat", rows, g.const(np.array([length], dtype=i64), name=f"{name}/length"),
                 name=f"{name}/pad_shape", axis=0)
    from toolkit.onnxgraph import tensor

    pads = g.op("ConstantOfShape", shape, name=f"{name}/pads",
                value=tensor("value", np.array([PAD_ID], dtype=i64)))
    joined = g.op("Concat", ids, pads, name=f"{name}/append", axis=1)
    return g.op("Slice", joined, g.const(np.array([0], dtype=i64), name=f"{name}/start"),
                g.const(np.array([length], dtype=i64), name=f"{name}/stop"),
                g.const(np.array([1], dtype=i64), name=f"{name}/axis"), name=f"{name}/truncate")


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
    parts = g.op("Tokenizer", raw, name=f"{name}/pieces", domain="com.microsoft",
                 tokenexp=f"(?s).{{1,{PIECE_CHARS}}}", mark=0, pad_value="", mincharnum=1)
    g.declare(parts, "string", ["N", f"{name}:pieces"])
    rows = g.op("Shape", raw, name=f"{name}/n", start=0, end=1)
    shape = g.op("Concat", rows, g.const(np.array([pieces], dtype=i64), name=f"{name}/n_pieces"),
                 name=f"{name}/blank_shape", axis=0)
    blank = g.op("Expand", g.const(np.array([[""]], dtype=object), "string", name=f"{name}/blank"), shape,
                 name=f"{name}/blanks")
    padded = g.op("Concat", parts, blank, name=f"{name}/padded", axis=1)
    text = None
    for k in range(pieces):
        piece = g.op("Gather", padded, g.const(np.array(k, dtype=i64), name=f"{name}/k"), name=f"{name}/piece",
                     axis=1)
        text = piece if text is None else g.op("StringConcat", text, piece, name=f"{name}/join")
    return text


def lookup_onnx(g, tokens: str, keys: list[str], first_id: int, default: int, name: str) -> str:
    """string [N, D] → int64 [N, D]: keys[i] → first_id + i, "" → PAD_ID, else `default`."""
    from toolkit.onnxgraph import tensor

    values = np.array([PAD_ID] + list(range(first_id, first_id + len(keys))), dtype=np.int64)
    return g.op("LabelEncoder", tokens, name=name, domain="ai.onnx.ml",
                keys_tensor=tensor("keys", [""] + list(keys), "string"),
                values_tensor=tensor("values", values),
                default_tensor=tensor("default", np.array([default], dtype=np.int64)))


class TextInput:
    """Free text → token ids → an encoder (pooled embeddings, CNN, transformer or GRU)."""

    type = "text"
    raw_dtype = RAW_STRING
    pre_dtype = "int64"
    Config = TextInputConfig
    #: rows per onnxruntime call: the tokenizer holds rows × (most tokens in a row) strings
    max_chunk_rows = 1024

    def __init__(self, config: TextInputConfig):
        self.config = config

    def fit(self, column: np.ndarray) -> "TextInput":
        """`column`: strings [N] ("" = missing). Learns vocabulary, bigrams and idf weights."""
        p = self.config.preprocessing
        pieces = cut_pieces(p.max_length)
        counts, bigram_counts = count_tokens(column, self.pattern, p.lowercase, pieces, p.ngrams)
        self.vocab_ = rank(counts, p.min_count, p.max_size)
        self.bigrams_ = rank(bigram_counts, p.min_count, p.max_size) if p.ngrams == 2 else []
        del counts, bigram_counts
        # unknown is a token like any other: its document frequency is that of
        # documents with at least one token outside the vocabulary.
        docs, unknown = document_frequencies(column, self.pattern, p.lowercase, pieces, p.ngrams,
                                             set(self.vocab_), set(self.bigrams_))
        n = len(column)
        self.idf_ = [0.0, smooth_idf(unknown, n)] + [smooth_idf(docs[t], n) for t in self.vocab_ + self.bigrams_]
        return self

    def state(self) -> dict:
        return {"vocab": self.vocab_, "bigrams": self.bigrams_, "idf": self.idf_}

    @classmethod
    def from_state(cls, config: TextInputConfig, state: dict) -> "TextInput":
        self = cls(config)
        self.vocab_, self.bigrams_, self.idf_ = state["vocab"], state["bigrams"], state["idf"]
        return self

    @property
    def pattern(self) -> str:
        return TOKEN_PATTERN if self.config.preprocessing.punctuation else WORD_PATTERN

    @property
    def n_ids(self) -> int:
        """Embedding rows: padding, unknown, the vocabulary, the bigrams."""
        return FIRST_ID + len(self.vocab_) + len(self.bigrams_)

    def to_onnx(self, g, raw: str) -> str:
        """string [N] → int64 [N, max_length] (or [N, 2 · max_length] with bigrams)."""
        n, p = self.config.name, self.config.preprocessing
        i64 = np.int64
        text = cut_onnx(g, raw, cut_pieces(p.max_length), n)
        tokens = tokens_to_onnx(g, text, self.pattern, p.lowercase, n)
        axis = g.const(np.array([1], dtype=i64), name=f"{n}/axis")
        zero = g.const(np.array([0], dtype=i64), name=f"{n}/zero")
        # only the first max_length (+ 1 for the last bigram) tokens are ever looked up
        head = g.op("Slice", tokens, zero, g.const(np.array([p.max_length + 1], dtype=i64), name=f"{n}/keep"),
                    axis, name=f"{n}/head")
        g.declare(head, "string", ["N", f"{n}:head"])
        unigrams = g.op("Slice", head, zero, g.const(np.array([p.max_length], dtype=i64), name=f"{n}/length"),
                        axis, name=f"{n}/unigrams")
        g.declare(unigrams, "string", ["N", f"{n}:unigrams"])
        ids = lookup_onnx(g, unigrams, self.vocab_, FIRST_ID, UNKNOWN_ID, f"{n}/ids")
        ids = pad_truncate_onnx(g, ids, p.max_length, f"{n}/ids")
        if p.ngrams == 1:
            return ids
        left = g.op("Slice", head, zero, g.const(np.array([-1], dtype=i64), name=f"{n}/minus_one"), axis,
                    name=f"{n}/left")
        right = g.op("Slice", head, g.const(np.array([1], dtype=i64), name=f"{n}/one"),
                     g.const(np.array([p.max_length + 1], dtype=i64), name=f"{n}/end"), axis, name=f"{n}/right")
        spaced = g.op("StringConcat", left, g.const(np.array(" ", dtype=object), "string", name=f"{n}/space"),
                      name=f"{n}/spaced")
        pairs = g.op("StringConcat", spaced, right, name=f"{n}/bigrams")
        g.declare(pairs, "string", ["N", f"{n}:bigrams"])
        # "w " (w before padding) is never a key: tokens hold no spaces, so it maps to padding.
        pair_ids = lookup_onnx(g, pairs, self.bigrams_, FIRST_ID + len(self.vocab_), PAD_ID,
                               f"{n}/bigram_ids")
        pair_ids = pad_truncate_onnx(g, pair_ids, p.max_length, f"{n}/bigram_ids")
        return g.op("Concat", ids, pair_ids, name=f"{n}/with_bigrams", axis=1)

    def output_width(self) -> int:
        e = self.config.encoder
        if e.type == "cnn":
            return e.get("filters") * len(e.get("kernel_sizes"))
        if e.type == "gru":
            return 2 * e.get("hidden_size")
        return e.dim

    def encoder(self):
        """int64 ids [N, L] → float [N, output_width()] (see toolkit.text_encoders)."""
        from toolkit import text_encoders as te

        e = self.config.encoder
        if e.type == "embed":
            return te.EmbedPool(self.n_ids, e.dim, e.get("pooling"), self.idf_, e.dropout)
        if e.type == "cnn":
            return te.ParallelCNN(self.n_ids, e.dim, e.get("filters"), e.get("kernel_sizes"), e.dropout)
        if e.type == "transformer":
            return te.TextTransformer(self.n_ids, e.dim, self.config.preprocessing.max_length, e.get("num_layers"),
                                      e.get("num_heads"), e.get("pooling"), self.idf_, e.dropout)
        return te.TextGRU(self.n_ids, e.dim, e.get("hidden_size"), e.get("num_layers"), e.get("pooling"),
                          self.idf_, e.dropout)
