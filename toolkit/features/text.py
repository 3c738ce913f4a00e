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

from collections import Counter
from typing import Literal

from pydantic import Field, model_validator

from toolkit.features.base import (  # numpy, lazily
    RAW_STRING,
    Accumulator,
    FeatureConfig,
    InputFeature,
    StrictModel,
    np,
    prune,
    rank,
)
from toolkit.features.text_tokens import (
    FIRST_ID,
    PAD_ID,
    TOKEN_PATTERN,
    UNKNOWN_ID,
    WORD_PATTERN,
    count_tokens,
    cut_onnx,
    cut_pieces,
    document_frequencies,
    lookup_onnx,
    pad_truncate_onnx,
    smooth_idf,
    tokens_to_onnx,
)


class TextPreprocessing(StrictModel):
    lowercase: bool = Field(True, description="Lowercase before tokenizing (Unicode, per code point).")
    punctuation: bool = Field(True, description="Keep punctuation marks as tokens; false keeps words only.")
    max_length: int = Field(256, ge=1, le=100_000, description="Tokens kept per row (truncate / pad).")
    max_size: int = Field(20_000, ge=1, description="Most frequent tokens kept (and as many bigrams).")
    min_count: int = Field(2, ge=1, description="Tokens seen fewer times in training become unknown.")
    ngrams: Literal[1, 2] = Field(1, description="2 adds word bigrams (embed encoder only).")


#: Keys that apply to one encoder type only, with their defaults (None in the config = this default).
_ENCODER_KEYS = {
    "embed": {"pooling": "idf_mean", "embedding_lr": 1.0},
    "cnn": {"filters": 64, "kernel_sizes": [2, 3, 4, 5]},
    "transformer": {"num_layers": 1, "num_heads": 4, "pooling": "mean"},
    "gru": {"hidden_size": 64, "num_layers": 1, "pooling": "mean"},
}


class TextEncoder(StrictModel):
    """Keys shared by the text encoders, and keys of some types only (left null for the others)."""

    type: Literal["embed", "cnn", "transformer", "gru"] = "embed"
    dim: int = Field(64, gt=0, description="Token embedding size.")
    dropout: float = Field(0.1, ge=0, lt=1)
    embedding_lr: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="embed: how many times faster than the rest of the network the token "
        "embeddings learn (default 1; see toolkit.nn.sequence.EmbedPool).",
    )
    pooling: Literal["idf_mean", "mean", "max"] | None = Field(
        None,
        description="embed, gru, transformer: token vectors → one vector; default idf_mean for embed, mean otherwise.",
    )
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
            raise ValueError(
                f"{', '.join(stray)} do(es) not apply to the {self.type} encoder "
                f"(its own keys: {', '.join(sorted(own))})"
            )
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
            raise ValueError(
                f"preprocessing.ngrams: 2 needs encoder type embed (a bag of tokens); "
                f"the {self.encoder.type} encoder reads the tokens in order"
            )
        return self


#: The web page's placeholder of a text field: generic, since the site is public and the training texts are not.
PLACEHOLDER = "type some text"


class TextAccumulator(Accumulator):
    """Two passes over the training texts. Pass 1: token (and bigram) counts from the feature's own
    ONNX tokenizer, chunk by chunk; the vocabulary is ranked at its end. Pass 2: documents holding
    each kept token, and documents holding an unknown one, for the idf weights."""

    passes = 2

    def __init__(self, feature: "TextInput"):
        super().__init__(feature)
        p = feature.config.preprocessing
        self.args = (feature.pattern, p.lowercase, cut_pieces(p.max_length))
        self.counts, self.bigrams, self.warned = Counter(), Counter(), set()
        self.docs, self.unknown = Counter(), 0

    def update(self, column: np.ndarray) -> None:
        ngrams = self.feature.config.preprocessing.ngrams
        if self.pass_no == 0:
            self.count(column)
            counts, bigrams = count_tokens(column, *self.args, ngrams)
            self.counts.update(counts)
            self.bigrams.update(bigrams)
            self.counts = prune(self.counts, self.feature.where, self.warned)
            self.bigrams = prune(self.bigrams, self.feature.where + " bigrams", self.warned)
        else:
            # unknown is a token like any other: its document frequency is that of
            # documents with at least one token outside the vocabulary.
            docs, unknown = document_frequencies(column, *self.args, ngrams, self.kept[0], self.kept[1])
            self.docs.update(docs)
            self.unknown += unknown

    def end_pass(self) -> None:
        if self.pass_no == 0:  # rank the vocabulary; pass 2 counts the documents of its tokens
            f, p = self.feature, self.feature.config.preprocessing
            f.vocab_ = rank(self.counts, p.min_count, p.max_size)
            f.bigrams_ = rank(self.bigrams, p.min_count, p.max_size) if p.ngrams == 2 else []
            self.kept = (set(f.vocab_), set(f.bigrams_))
            self.counts = self.bigrams = None
        super().end_pass()

    def finish(self) -> "TextInput":
        f, n = self.feature, self.rows
        f.idf_ = [0.0, smooth_idf(self.unknown, n)] + [smooth_idf(self.docs[t], n) for t in f.vocab_ + f.bigrams_]
        return f


class TextInput(InputFeature):
    """Free text → token ids → an encoder (pooled embeddings, CNN, transformer or GRU)."""

    type = "text"
    raw_dtype = RAW_STRING
    pre_dtype = "int64"
    tree_input = None
    tree_refusal = (
        "token ids are positions in a sequence, not features a tree can split on; "
        "use a set feature (bag of words) or model_type: nn"
    )
    Config = TextInputConfig
    #: rows per onnxruntime call: the tokenizer holds rows × (most tokens in a row) strings
    max_chunk_rows = 1024

    def accumulator(self) -> "TextAccumulator":
        return TextAccumulator(self)

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
        head = g.op(
            "Slice",
            tokens,
            zero,
            g.const(np.array([p.max_length + 1], dtype=i64), name=f"{n}/keep"),
            axis,
            name=f"{n}/head",
        )
        g.declare(head, "string", ["N", f"{n}:head"])
        unigrams = g.op(
            "Slice",
            head,
            zero,
            g.const(np.array([p.max_length], dtype=i64), name=f"{n}/length"),
            axis,
            name=f"{n}/unigrams",
        )
        g.declare(unigrams, "string", ["N", f"{n}:unigrams"])
        ids = lookup_onnx(g, unigrams, self.vocab_, FIRST_ID, UNKNOWN_ID, f"{n}/ids")
        ids = pad_truncate_onnx(g, ids, p.max_length, f"{n}/ids")
        if p.ngrams == 1:
            return ids
        left = g.op(
            "Slice", head, zero, g.const(np.array([-1], dtype=i64), name=f"{n}/minus_one"), axis, name=f"{n}/left"
        )
        right = g.op(
            "Slice",
            head,
            g.const(np.array([1], dtype=i64), name=f"{n}/one"),
            g.const(np.array([p.max_length + 1], dtype=i64), name=f"{n}/end"),
            axis,
            name=f"{n}/right",
        )
        spaced = g.op(
            "StringConcat", left, g.const(np.array(" ", dtype=object), "string", name=f"{n}/space"), name=f"{n}/spaced"
        )
        pairs = g.op("StringConcat", spaced, right, name=f"{n}/bigrams")
        g.declare(pairs, "string", ["N", f"{n}:bigrams"])
        # "w " (w before padding) is never a key: tokens hold no spaces, so it maps to padding.
        pair_ids = lookup_onnx(g, pairs, self.bigrams_, FIRST_ID + len(self.vocab_), PAD_ID, f"{n}/bigram_ids")
        pair_ids = pad_truncate_onnx(g, pair_ids, p.max_length, f"{n}/bigram_ids")
        return g.op("Concat", ids, pair_ids, name=f"{n}/with_bigrams", axis=1)

    def form_field(self, sample=None) -> dict:
        """Free text, with a generic placeholder (never a training text)."""
        return {"default": "", "placeholder": PLACEHOLDER}

    def edge_values(self) -> list:
        return super().edge_values() + list(self.vocab_)[:5]

    def report_hints(self) -> dict:
        return {"values": "text"}

    def output_width(self) -> int:
        e = self.config.encoder
        if e.type == "cnn":
            return e.get("filters") * len(e.get("kernel_sizes"))
        if e.type == "gru":
            return 2 * e.get("hidden_size")
        return e.dim

    def encoder(self):
        """int64 ids [N, L] → float [N, output_width()] (see toolkit.nn.sequence)."""
        from toolkit.nn import sequence as te

        e = self.config.encoder
        if e.type == "embed":
            return te.EmbedPool(self.n_ids, e.dim, e.get("pooling"), self.idf_, e.dropout, e.get("embedding_lr"))
        if e.type == "cnn":
            return te.ParallelCNN(self.n_ids, e.dim, e.get("filters"), e.get("kernel_sizes"), e.dropout)
        if e.type == "transformer":
            return te.TextTransformer(
                self.n_ids,
                e.dim,
                self.config.preprocessing.max_length,
                e.get("num_layers"),
                e.get("num_heads"),
                e.get("pooling"),
                self.idf_,
                e.dropout,
            )
        return te.TextGRU(
            self.n_ids, e.dim, e.get("hidden_size"), e.get("num_layers"), e.get("pooling"), self.idf_, e.dropout
        )
