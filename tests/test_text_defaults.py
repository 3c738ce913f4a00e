"""Issue 25 item 2: the embed encoder's embedding learning rate, and the text line init-config writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.test_edge_node import node_bin  # noqa: F401 - the fixture
from toolkit import train
from toolkit.common import log
from toolkit.config.schema import validate_config
from toolkit.errors import TkError
from toolkit.nn.optim import adamw
from toolkit.nn.sequence import EmbedPool


def _pair(scale: float, how: str = "idf_mean"):
    torch.manual_seed(0)
    return EmbedPool(50, 8, how, [0.0] + [1.0 + i % 4 for i in range(49)], lr_scale=scale)


@pytest.mark.parametrize("how", ["idf_mean", "mean", "max"])
def test_lr_scale_leaves_the_function_at_init_and_in_the_export_path(how):
    ids = torch.randint(0, 50, (7, 9))
    ids[3] = 0
    plain, fast = _pair(1.0, how).eval(), _pair(10.0, how).eval()
    torch.testing.assert_close(fast(ids), plain(ids))
    # the graph ONNX export traces (pool of the stored table, then × s) gives the same vectors
    torch.testing.assert_close(fast.pool(fast.embedding(ids), ids) * fast.lr_scale, fast(ids))


def test_lr_scale_moves_the_embeddings_that_many_times_further_under_adamw():
    ids = torch.randint(1, 50, (16, 6))
    moved = {}
    for scale in (1.0, 10.0):
        enc = _pair(scale)
        before = (enc.embedding.weight * scale).detach().clone()
        opt = adamw(enc.parameters(), lr=1e-3, weight_decay=0.0)
        enc(ids).pow(2).sum().backward()
        opt.step()
        moved[scale] = (enc.embedding.weight * scale).detach() - before
    used = moved[1.0].abs() > 0
    assert used.any()
    ratio = moved[10.0][used] / moved[1.0][used]
    assert torch.allclose(ratio, torch.full_like(ratio, 10.0), rtol=1e-3), ratio


def test_embedding_lr_is_an_embed_key_checked_by_the_schema():
    block = {"name": "t", "type": "text"}
    out = [{"name": "y", "type": "binary"}]
    cfg = validate_config({"input_features": [{**block, "encoder": {"embedding_lr": 10}}], "output_features": out})
    assert cfg.input_features[0].encoder.get("embedding_lr") == 10
    assert (
        validate_config({"input_features": [block], "output_features": out})
        .input_features[0]
        .encoder.get("embedding_lr")
        == 1.0
    )  # old model directories (no key) keep the plain embedding
    with pytest.raises(TkError, match="embedding_lr do.*not apply to the gru encoder"):
        validate_config(
            {"input_features": [{**block, "encoder": {"type": "gru", "embedding_lr": 10}}], "output_features": out}
        )
    with pytest.raises(TkError, match="embedding_lr"):
        validate_config({"input_features": [{**block, "encoder": {"embedding_lr": 0}}], "output_features": out})


@pytest.fixture(scope="module")
def suite_text_model(tmp_path_factory):
    """A small model with init-config's text line (bigrams, marks, embedding_lr 30): (model, dir, texts)."""
    log.quiet = True
    rng = np.random.default_rng(0)
    words = ["good", "bad", "fine", "awful", "great", "poor", "ok", "meh", "café", "日本"]
    text = [" ".join(rng.choice(words, 5)) + ("!" * int(rng.integers(0, 3))) for _ in range(200)]
    y = ["yes" if sum(w in t for w in ("good", "great", "fine")) >= 2 else "no" for t in text]
    cfg = {
        "input_features": [
            {"name": "t", "type": "text", "preprocessing": {"ngrams": 2}, "encoder": {"embedding_lr": 30}}
        ],
        "output_features": [{"name": "y", "type": "binary"}],
        "trainer": {"epochs": 3},
    }
    out = tmp_path_factory.mktemp("runs") / "m"
    model = train(cfg, pd.DataFrame({"t": text, "y": y}), output=out)  # saving checks export parity
    return model, out, text[:20] + ["", " ", "!!!", "unseen words only", "x" * 5000]


def test_suite_text_setting_learns_and_exports_with_parity(suite_text_model):
    model, out, _ = suite_text_model
    assert (out / "model.onnx").exists()
    assert model.stats["metrics"]["validation"]["y"]["roc_auc"] > 0.8


@pytest.mark.parametrize("backend", ["onnxruntime-node", "onnxruntime-web-wasm"])
def test_suite_text_setting_runs_alike_in_node_and_wasm(node_bin, suite_text_model, tmp_path, backend):
    from tests.test_edge_node import assert_same, flags_for, run_predict, write_json
    from toolkit.runtime.predictor import Predictor

    _, out, texts = suite_text_model
    flags = flags_for(backend)
    want = Predictor(out / "model.onnx").run({"t": np.array(texts, dtype=object)})
    write_json(tmp_path / "rows.json", {"t": texts})
    assert_same(run_predict(node_bin, out / "model.onnx", tmp_path / "rows.json", *flags), want, backend)


def test_init_config_reads_short_titles_as_text_and_writes_the_suite_setting(tmp_path):
    import csv

    import yaml

    from toolkit.config import guess

    words = ["red", "river", "night", "last", "summer", "dog", "city", "blue", "king", "love", "war", "road"]
    rows = []
    for i in range(300):  # 2 or 3 words a title (2.5 on average), nearly all distinct; codes of 1-2 words
        title = " ".join(words[(i * k + k) % len(words)] for k in range(1, 3 + i % 2)) + f" {i // 7}"
        rows.append({"title": title, "code": f"AB{i}" + (" x" if i % 3 == 0 else ""), "y": "ab"[i % 2]})
    path = tmp_path / "titles.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    text = guess.config_yaml(path, ["y"])
    cfg = yaml.safe_load(text)
    (title,) = [f for f in cfg["input_features"] if f["name"] == "title"]
    assert title == {
        "name": "title",
        "type": "text",
        "preprocessing": {"ngrams": 2, "min_count": 1},
        "encoder": {"embedding_lr": 30},
    }
    assert "code" not in {f["name"] for f in cfg["input_features"]}  # 1.3 words on average: an id
    block = validate_config(cfg).input_features[0]
    assert block.preprocessing.punctuation and block.encoder.get("embedding_lr") == 30
