"""Text and set features: tokenizer twin, vocabulary, hostile text, encoders, set output, reviews."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from toolkit import train
from toolkit.common import log
from toolkit.config.schema import validate_config
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features import text_tokens as text_mod
from toolkit.features.pregraph import Preprocessor
from toolkit.features.set import member_pattern, python_members
from toolkit.features.text_tokens import (
    PIECE_CHARS,
    TOKEN_PATTERN,
    WORD_PATTERN,
    cut_pieces,
    python_cut,
    python_tokens,
    tokenize,
)
from toolkit.nn.sequence import EmbedPool, ParallelCNN, SetEmbedding, TextGRU, TextTransformer

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT / "examples" / "reviews"


def feature(block: dict, output: bool = False):
    block = {"name": "x", **block}
    other = {"name": "z", "type": "number"} if output else {"name": "y", "type": "binary"}
    cfg = validate_config(
        {"input_features": [other if output else block], "output_features": [block if output else other]}
    )
    if output:
        return OUTPUT_FEATURES[block["type"]](cfg.output_features[0])
    return INPUT_FEATURES[block["type"]](cfg.input_features[0])


def pre(f, values) -> np.ndarray:
    return Preprocessor([f]).transform({"x": np.array(values, dtype=object)})["x"]


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return pd.read_csv(REVIEWS / "reviews.csv")


# ---- the tokenizer and its Python twin ------------------------------------------


@pytest.mark.parametrize("pattern, twin", [(TOKEN_PATTERN, text_mod.PY_TOKEN), (WORD_PATTERN, text_mod.PY_WORD)])
def test_onnx_tokenizer_and_python_twin_agree_on_every_assigned_code_point(pattern, twin):
    """Each code point alone between two letters, lowercased and tokenized, both ways."""
    chars = [chr(c) for c in range(1, 0x30000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    raw = np.array([f"a{c}B" for c in chars], dtype=object)
    got = np.empty(len(raw), dtype=object)
    for rows, tokens in tokenize(raw, pattern, lowercase=True):
        for r, row in zip(rows, tokens.tolist()):
            got[r] = [t for t in row if t]
    bad = [
        (hex(ord(c)), g, twin.findall(text_mod.python_lower(s)))
        for c, s, g in zip(chars, raw, got)
        if g != twin.findall(text_mod.python_lower(s))
    ]
    assert not bad, f"{len(bad)} code points differ, e.g. {bad[:5]}"


def test_lowercasing_is_per_code_point():
    assert python_tokens("ΟΔΟΣ İSTANBUL ÀÉ") == ["οδοσ", "istanbul", "àé"]  # no final sigma, İ → i
    f = feature({"type": "text", "preprocessing": {"min_count": 1}}).fit(np.array(["οδοσ istanbul àé"], object))
    want = [f.vocab_.index(t) + 2 for t in ["οδοσ", "istanbul", "àé"]]
    assert pre(f, ["ΟΔΟΣ İSTANBUL ÀÉ"])[0, :3].tolist() == want


def test_vocabulary_fitted_by_onnx_equals_the_python_twin(reviews):
    texts = reviews["review"].fillna("").to_numpy(dtype=object)[:800]
    f = feature({"type": "text", "preprocessing": {"ngrams": 2}}).fit(texts)
    tokens = [python_tokens(python_cut(t, 256)) for t in texts]
    counts = Counter(t for row in tokens for t in row)
    pairs = Counter(f"{a} {b}" for row in tokens for a, b in zip(row, row[1:]))
    rank = lambda c: sorted((t for t, k in c.items() if k >= 2), key=lambda t: (-c[t], t))[:20_000]  # noqa: E731
    assert f.vocab_ == rank(counts)
    assert f.bigrams_ == rank(pairs)
    assert len(f.idf_) == f.n_ids and f.idf_[0] == 0.0


def test_vocabulary_ranks_by_count_then_alphabet_and_respects_min_count_and_max_size():
    raw = np.array(["b a c", "a b", "a d", "e"], dtype=object)
    f = feature({"type": "text", "preprocessing": {"min_count": 2, "max_size": 5}}).fit(raw)
    assert f.vocab_ == ["a", "b"]
    f = feature({"type": "text", "preprocessing": {"min_count": 1, "max_size": 3}}).fit(raw)
    assert f.vocab_ == ["a", "b", "c"]
    assert pre(f, ["a zzz b", ""]).tolist()[0][:4] == [2, 1, 3, 0]


def test_fitting_memory_is_bounded_by_chunks(monkeypatch):
    """Rows go shortest first in chunks: one long row does not widen the others."""
    monkeypatch.setattr(text_mod, "FIT_CHUNK_CHARS", 1000)
    raw = np.array(["a b"] * 50 + ["c " * 400], dtype=object)
    widths = [tokens.shape for _, tokens in tokenize(raw)]
    assert max(w[0] * w[1] for w in widths) <= 1000
    assert sum(w[0] for w in widths) == len(raw)


# ---- hostile text -------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "\t\n  ",
    "\u00a0\u3000",
    "x" * 10_000,
    "a " * 50_000,
    "!" * 20_000,
    "<p>Great <b>taste</b></p><br /><br />&amp; more",
    "日本語のテキスト",
    "مرحبا",
    "😀😀",
    "\x00\x01",
    "ΣΊΣΥΦΟΣ",
    "🏳️‍🌈 family: 👨‍👩‍👧",
]


@pytest.mark.parametrize("pre_cfg", [{}, {"ngrams": 2}, {"punctuation": False}, {"max_length": 1}])
def test_hostile_text_gives_defined_ids(pre_cfg):
    f = feature({"type": "text", "preprocessing": {"min_count": 1, **pre_cfg}}).fit(
        np.array(["great taste", "a b c"], dtype=object)
    )
    width = f.config.preprocessing.max_length * f.config.preprocessing.ngrams
    out = pre(f, HOSTILE)
    assert out.shape == (len(HOSTILE), width) and out.dtype == np.int64
    assert (out[:4] == 0).all()  # empty and whitespace-only: all padding
    assert out.min() >= 0 and out.max() < f.n_ids
    assert pre(f, ["", " "]).shape == (2, width)  # a batch in which the tokenizer finds nothing
    assert pre(f, []).shape == (0, width)


def test_huge_text_is_cut_before_tokenizing():
    """A 2 MB text costs no more than its first pieces: the tokenizer never sees the rest."""
    f = feature({"type": "text", "preprocessing": {"min_count": 1, "max_length": 8}}).fit(
        np.array(["a b", "a"], dtype=object)
    )
    assert cut_pieces(8) * PIECE_CHARS == 1000
    out = pre(f, ["a " * 1_000_000, "b"])
    assert out[0].tolist() == [2] * 8 and out[1].tolist() == [3] + [0] * 7
    text = "é" * 999 + " a"  # the cut falls between code points, not bytes
    assert python_cut(text, 8) == "é" * 999 + " "


def test_truncation_padding_and_bigrams():
    f = feature({"type": "text", "preprocessing": {"min_count": 1, "ngrams": 2, "max_length": 3}}).fit(
        np.array(["good good taste", "good taste"], dtype=object)
    )
    assert f.vocab_ == ["good", "taste"] and f.bigrams_ == ["good taste", "good good"]
    out = pre(f, ["good taste good good", "taste", "bad good taste"])
    # unigrams: good=2 taste=3 (unknown 1); bigrams: "good taste"=4 "good good"=5, unseen → 0
    assert out.tolist() == [[2, 3, 2, 4, 0, 5], [3, 0, 0, 0, 0, 0], [1, 2, 3, 0, 4, 0]]


# ---- encoders -----------------------------------------------------------------


def encoders(n_ids: int = 30, length: int = 7):
    idf = [0.0] + [1.0 + (i % 5) for i in range(n_ids - 1)]
    return {
        "embed idf_mean": (EmbedPool(n_ids, 8, "idf_mean", idf), 8),
        "embed mean": (EmbedPool(n_ids, 8, "mean"), 8),
        "embed max": (EmbedPool(n_ids, 8, "max"), 8),
        "cnn": (ParallelCNN(n_ids, 8, 5, [2, 3, 9]), 15),
        "transformer": (TextTransformer(n_ids, 8, length, 2, 2, "mean"), 8),
        "gru": (TextGRU(n_ids, 8, 6, 1, "max"), 12),
    }


@pytest.mark.parametrize("name", list(encoders()))
def test_encoder_shapes_finite_on_empty_rows_and_trainable(name):
    torch.manual_seed(0)
    enc, width = encoders()[name]
    ids = torch.randint(1, 30, (5, 7))
    ids[0] = 0  # no tokens at all
    ids[1, 1:] = 0  # one token, shorter than the widest kernel
    out = enc(ids)
    assert out.shape == (5, width)
    assert torch.isfinite(out).all()
    out.pow(2).sum().backward()
    assert enc.embedding.weight.grad is not None and enc.embedding.weight.grad[0].abs().sum() == 0


def test_padding_does_not_change_the_pooled_vector():
    enc = EmbedPool(30, 8, "idf_mean", [0.0] + [2.0] * 29).eval()
    a = enc(torch.tensor([[3, 4, 5]]))
    b = enc(torch.tensor([[3, 4, 5, 0, 0, 0]]))
    torch.testing.assert_close(a, b)


def test_embedding_bag_path_equals_the_export_path():
    torch.manual_seed(0)
    for how in ("idf_mean", "mean", "max"):
        enc = EmbedPool(40, 6, how, [0.0] + [1.0 + i % 3 for i in range(39)]).eval()
        ids = torch.randint(0, 40, (9, 11))
        ids[2] = 0
        torch.testing.assert_close(enc(ids), enc.pool(enc.embedding(ids), ids))


def test_set_embedding_sums_member_vectors():
    enc = SetEmbedding(3, 4)
    x = torch.tensor([[1.0, 0, 1], [0, 0, 0]])
    torch.testing.assert_close(enc(x)[0], enc.linear.weight[:, 0] + enc.linear.weight[:, 2] + enc.linear.bias)
    assert SetEmbedding(0, 4)(torch.zeros(2, 0)).shape == (2, 4)


def test_encoder_keys_of_another_type_are_refused():
    with pytest.raises(TkError, match="filters do.*not apply to the embed encoder"):
        validate_config(
            {
                "input_features": [{"name": "t", "type": "text", "encoder": {"filters": 8}}],
                "output_features": [{"name": "y", "type": "binary"}],
            }
        )
    with pytest.raises(TkError, match="ngrams: 2 needs encoder type embed"):
        validate_config(
            {
                "input_features": [
                    {"name": "t", "type": "text", "preprocessing": {"ngrams": 2}, "encoder": {"type": "gru"}}
                ],
                "output_features": [{"name": "y", "type": "binary"}],
            }
        )


# ---- sets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, delimiter, expected",
    [
        ("a, b c ,d", ",", ["a", "b c", "d"]),
        (" , ,, ", ",", []),
        ("", ",", []),
        ("no delimiter here", "|", ["no delimiter here"]),
        ("a|a| a |b", "|", ["a", "a", "a", "b"]),
        ("x  y\tz", " ", ["x", "y\tz"]),
        ("Ünï;日本 語;", ";", ["Ünï", "日本 語"]),
    ],
)
def test_set_members_are_cut_and_stripped(raw, delimiter, expected):
    assert python_members(raw, delimiter) == expected
    got = [list(t[t != ""]) for _, t in tokenize(np.array([raw], dtype=object), member_pattern(delimiter), False)]
    assert (got[0] if got else []) == expected


def test_set_input_multi_hot_with_repeated_empty_and_unknown_members():
    f = feature({"type": "set"}).fit(np.array(["a, b", "b,c", "", "a"], dtype=object))
    assert f.vocab_ == ["a", "b", "c"]  # a and b in 2 rows each, alphabetical tie
    out = pre(f, ["a,a,a", "zzz, c", "", " , ", "b,a"])
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [1, 1, 0]]
    assert pre(f, ["", ""]).shape == (2, 3)


def test_multilabel_metrics_come_from_sklearn():
    from sklearn.metrics import f1_score, jaccard_score

    from toolkit.scoring.metrics import multilabel

    y = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    p = np.array([[0.9, 0.2, 0.4], [0.1, 0.8, 0.7], [0.1, 0.1, 0.1], [0.6, 0.3, 0.2]])
    got = multilabel(y, p, 0.5)
    pred = (p >= 0.5).astype(int)
    assert got["micro_f1"] == pytest.approx(f1_score(y, pred, average="micro"))
    assert got["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    # rows: 1/2, 1/2, empty vs empty = 1, 1/2
    assert got["jaccard"] == pytest.approx(np.mean([0.5, 0.5, 1.0, 0.5]))
    assert got["jaccard"] == pytest.approx(jaccard_score(y, pred, average="samples", zero_division=1.0))


def multilabel_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Tags that follow from the inputs: 'spicy' from heat, 'vegan' from the diet, 'gift' from the text."""
    rng = np.random.default_rng(seed)
    heat = rng.uniform(0, 10, n)
    diet = rng.choice(["vegan", "vegetarian", "meat"], n)
    gift = rng.random(n) < 0.4
    words = np.where(gift, "a lovely present for my mother", "bought it for the kitchen")
    tags = [
        ", ".join(t for t, on in (("spicy", h > 6), ("vegan", d == "vegan"), ("gift", g)) if on)
        for h, d, g in zip(heat, diet, gift)
    ]
    split = np.where(np.arange(n) % 5 == 0, "test", np.where(np.arange(n) % 5 == 1, "validation", "train"))
    return pd.DataFrame({"heat": heat, "diet": diet, "note": words, "tags": tags, "split": split})


def test_set_output_learns_a_constructed_multilabel_target(tmp_path):
    from toolkit import load

    log.quiet = True
    df = multilabel_frame()
    cfg = {
        "input_features": [
            {"name": "heat", "type": "number"},
            {"name": "diet", "type": "category"},
            {"name": "note", "type": "text", "preprocessing": {"max_length": 8}},
        ],
        "output_features": [{"name": "tags", "type": "set"}],
        "preprocessing": {"split": {"type": "fixed", "column": "split"}},
        "combiner": {"type": "concat", "num_layers": 1, "hidden_size": 32},
        "trainer": {"epochs": 40, "batch_size": 32, "learning_rate": 0.01, "early_stop": 10},
    }
    model = train(cfg, df, output=tmp_path / "m")
    test = model.stats["metrics"]["test"]["tags"]
    assert set(test) == {"loss", "jaccard", "micro_f1", "macro_f1"}
    assert test["micro_f1"] >= 0.9 and test["macro_f1"] >= 0.9 and test["jaccard"] >= 0.85, test
    assert model.outputs[0].classes == ["gift", "spicy", "vegan"] or set(model.outputs[0].classes) == {
        "gift",
        "spicy",
        "vegan",
    }

    loaded = load(tmp_path / "m")
    rows = df[df["split"] == "test"].head(50)
    got = loaded.predict(rows)
    classes = loaded.outputs[0].classes
    probs = got[[f"tags::probability::{c}" for c in classes]].to_numpy()
    want = [", ".join(c for c, p in zip(classes, row) if p >= 0.5) for row in probs]
    assert got["tags::label"].tolist() == want
    torch_got = loaded.predict(rows, engine="torch")
    assert torch_got["tags::label"].tolist() == want
    assert loaded.evaluate(rows)["tags"]["micro_f1"] >= 0.85


def test_set_output_needs_a_member():
    f = feature({"type": "set", "preprocessing": {"min_count": 5}}, output=True)
    with pytest.raises(TkError, match="no member occurs"):
        f.fit(np.array(["a", "b"], dtype=object))


def test_set_output_encodes_empty_as_the_empty_set_and_ignores_unknown_members():
    f = feature({"type": "set"}, output=True).fit(np.array(["a,b", "b"], dtype=object))
    assert f.classes == ["b", "a"]  # by rows holding the member
    y = f.encode_target(np.array(["b, zz", "", "zz"], dtype=object))
    assert y.tolist() == [[1, 0], [0, 0], [0, 0]]
    assert not f.missing(np.array(["", "a"], dtype=object)).any()
    assert f.predict(np.array([[3.0, 3.0], [-3.0, 3.0], [-3.0, -3.0]]))["label"].tolist() == ["b, a", "a", ""]


# ---- every text encoder exports with parity -----------------------------------


@pytest.mark.parametrize(
    "encoder, pre_cfg",
    [
        ({"type": "embed"}, {"ngrams": 2}),
        ({"type": "embed", "pooling": "max"}, {}),
        ({"type": "cnn", "filters": 8, "kernel_sizes": [2, 3]}, {}),
        ({"type": "transformer", "dim": 16, "num_heads": 2}, {}),
        ({"type": "gru", "hidden_size": 8}, {}),
    ],
)
def test_text_encoders_train_and_export_with_parity(tmp_path, reviews, encoder, pre_cfg):
    log.quiet = True
    df = reviews.groupby("split").head(120)
    cfg = {
        "input_features": [
            {"name": "review", "type": "text", "encoder": encoder, "preprocessing": {"max_length": 24, **pre_cfg}},
            {"name": "tags", "column": "product", "type": "set"},
        ],
        "output_features": [{"name": "score", "type": "binary"}],
        "preprocessing": {"split": {"type": "fixed", "column": "split"}},
        "trainer": {"epochs": 2},
    }
    model = train(cfg, df, output=tmp_path / "m")  # save exports model.onnx and checks its parity
    assert (tmp_path / "m" / "model.onnx").exists()
    out = model.predict(pd.DataFrame({"review": HOSTILE, "product": [""] * len(HOSTILE)}))
    assert len(out) == len(HOSTILE) and np.isfinite(out.filter(like="probability").to_numpy()).all()


# ---- the reviews example --------------------------------------------------------


def test_reviews_example_reaches_roc_auc(tmp_path):
    log.quiet = True
    model = train(REVIEWS / "config.yaml")
    auc = model.stats["metrics"]["test"]["score"]["roc_auc"]
    assert auc >= 0.86, f"reviews test ROC AUC {auc:.4f} < 0.86"
