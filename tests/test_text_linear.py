"""model_type ensemble with a text input: the TF-IDF + logistic regression member (toolkit.models.text_linear).

A small synthetic set (the label follows a few words, a number nudges it) trains once per module as
text + number + category → binary (three members: network, trees, text) and once as text only →
category (network + text). The member's ONNX must give its Python scores, the blend weights must be
in training_stats.json and on the core, the model must export with parity, reload, refit, and run
in onnxruntime-node and -web (wasm) like Python. A config without text keeps the old two-member core.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

GOOD = ["great", "lovely", "superb", "fresh", "tasty", "happy"]
BAD = ["awful", "stale", "broken", "sad", "bland", "late"]
PLAIN = [f"w{i}" for i in range(60)]


def synthetic(n: int = 700, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        good, bad = rng.integers(0, 3), rng.integers(0, 3)
        words = list(rng.choice(GOOD, good)) + list(rng.choice(BAD, bad)) + list(rng.choice(PLAIN, rng.integers(2, 9)))
        rng.shuffle(words)
        x = float(rng.normal())
        score = good - bad + 0.8 * x + rng.normal(0, 0.7)
        mood = "up" if score > 0.5 else "down" if score < -0.5 else "flat"
        split = "train" if i < 0.7 * n else "validation" if i < 0.85 * n else "test"
        rows.append(
            {"note": " ".join(words), "x": x, "shop": f"s{i % 4}", "y": str(score > 0), "mood": mood, "split": split}
        )
    return pd.DataFrame(rows)


def config(inputs, output, **extra):
    cfg = {
        "input_features": inputs,
        "output_features": [output],
        "preprocessing": {"split": {"type": "fixed", "column": "split"}},
        "model_type": "ensemble",
        "trainer": {"epochs": 3, "batch_size": 64, "threads": 1},
        "gbm": {"num_trees": 30, "threads": 1},
    }
    return cfg | extra


TEXT = {"name": "note", "type": "text", "preprocessing": {"ngrams": 2, "min_count": 1}, "encoder": {"embedding_lr": 30}}
EDGE_TEXTS = ["", "   ", None, "zzzq xyzzy qqq", "!!! ??", "great great great", "w1 w2 " * 300, "Great, LOVELY!"]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """text + number + category → binary: (model, directory, data)."""
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    df = synthetic()
    cfg = config(
        [TEXT, {"name": "x", "type": "number"}, {"name": "shop", "type": "category"}],
        {"name": "y", "type": "binary", "preprocessing": {"true_label": "True"}},
    )
    out = tmp_path_factory.mktemp("text_linear") / "three"
    return train(cfg, df, output=out), out, df


@pytest.fixture(scope="module")
def text_only(tmp_path_factory):
    """text → category, refit off: (model, directory, data)."""
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    df = synthetic(seed=1)
    cfg = config([TEXT], {"name": "mood", "type": "category"}, trainer={"epochs": 3, "threads": 1, "refit": False})
    out = tmp_path_factory.mktemp("text_linear") / "text_only"
    return train(cfg, df, output=out), out, df


def member_onnx_scores(model, texts) -> tuple[list, list]:
    """(the text member's Python scores, its own ONNX graph's) on raw texts."""
    import onnxruntime as ort
    import pandas as pd

    from toolkit.features import columns

    text = model.model.text
    df = pd.DataFrame({"note": texts, "x": 0.0, "shop": "s0"})
    pre = model.preprocessor.transform(columns.input_columns(model.inputs, df, "edge texts"))["note"]
    python = [s for s in text.scores(text.matrix([pre]))]
    graph = text.to_onnx(model.outputs, {"note": ["N", pre.shape[1]]})
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return python, session.run(None, {"note::pre": pre})


@pytest.mark.parametrize("which", ["three", "text_only"])
def test_member_onnx_equals_its_python_scores_on_edge_texts(which, request):
    model, _, df = request.getfixturevalue(which)
    texts = list(df["note"][:50]) + EDGE_TEXTS
    python, onnx_out = member_onnx_scores(model, texts)
    for p, o in zip(python, onnx_out):
        assert p.shape == o.shape
        np.testing.assert_allclose(o, p, atol=1e-5, rtol=1e-5)
    zero = python[0][texts.index("")]  # an empty text is a zero TF-IDF row: the bias alone
    np.testing.assert_allclose(zero, model.model.text.heads[0][1].reshape(zero.shape), atol=1e-6)
    assert not np.allclose(python[0][: len(texts) - len(EDGE_TEXTS)], python[0][0])  # the words matter


def test_tfidf_rows_are_sublinear_idf_weighted_and_unit_length():
    from toolkit.models.text_linear import tfidf_rows

    idf = np.array([0.0, 1.5, 2.0, 3.0])
    m = tfidf_rows(np.array([[2, 2, 3, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]), idf).toarray()
    want = np.array([0.0, (1 + np.log(2)) * 2.0, 3.0])
    np.testing.assert_allclose(m[0], want / np.linalg.norm(want))
    assert not m[1].any()  # padding only: a zero row, not NaN
    np.testing.assert_allclose(m[2], [1.0, 0.0, 0.0])  # the unknown id counts like a word


def test_the_blend_share_ignores_how_sharp_a_member_is():
    """pick_alpha scales each side by its temperature first: the text member's logits × 3 (or ÷ 3)
    leave α unchanged and the applied weight compensates; a useless network gets no share."""
    from toolkit.features.binary import BinaryOutput, BinaryOutputConfig
    from toolkit.models.ensemble_train import pick_alpha

    rng = np.random.default_rng(0)
    out = BinaryOutput(BinaryOutputConfig(name="y", type="binary"))
    out.pos_weight_ = 1.0
    y = rng.integers(0, 2, 400).astype(np.float32)
    text = ((y * 2 - 1) * 1.5 + rng.normal(0, 1.5, 400)).astype(np.float32)
    net = ((y * 2 - 1) * 0.8 + rng.normal(0, 1.5, 400)).astype(np.float32)
    found = {k: pick_alpha([out], {"nn": [net], "text": [text * k]}, [y], {"nn": 1.0}) for k in (1.0, 3.0, 1 / 3)}
    alphas = {k: f[1]["alpha"] for k, f in found.items()}
    assert 0.5 < alphas[1.0] < 1 and len(set(alphas.values())) == 1, alphas
    assert found[3.0][0]["text"] == pytest.approx(found[1.0][0]["text"] / 3, rel=1e-3)
    noise = rng.normal(0, 1, 400).astype(np.float32)
    assert pick_alpha([out], {"nn": [noise], "text": [text]}, [y], {"nn": 1.0})[1]["alpha"] >= 0.8
    # a text member of noise on 150 rows: the loss prefers α 0.05 by chance, within half a standard error
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 150).astype(np.float32)
    net = ((y * 2 - 1) * 0.8 + rng.normal(0, 1.5, 150)).astype(np.float32)
    noise = rng.normal(0, 1, 150).astype(np.float32)
    found = pick_alpha([out], {"nn": [net], "text": [noise]}, [y], {"nn": 1.0})[1]
    assert found["best"] == 0.05 and found["alpha"] == 0.0, found


def test_text_number_config_trains_three_members_and_exports_with_parity(three):
    from toolkit.runtime.predictor import Predictor

    model, out, df = three
    stats = json.loads((out / "training_stats.json").read_text())
    weights = stats["ensemble"]["weights"]
    assert set(weights) == {"nn", "gbm", "text"}
    assert weights == pytest.approx(model.model.weights)
    blend = stats["ensemble"]["blend"]
    a, t = blend["alpha"], blend["temperature"]
    assert 0 < a <= 1, stats["ensemble"]  # the words carry most of the signal here
    assert weights["text"] == pytest.approx(a / t["text"])
    assert weights["nn"] == pytest.approx(weights["gbm"]) == pytest.approx(0.5 * (1 - a) / t["rest"])
    assert stats["ensemble"]["validation_metric"] == "y.loss"
    losses = {m: stats["ensemble"][m] for m in ("nn", "gbm", "text", "ensemble")}
    assert losses["ensemble"] <= losses["text"] + 1e-6 and losses["ensemble"] < min(losses["nn"], losses["gbm"]), losses
    import onnx

    graph = onnx.load(out / "model.onnx").graph
    prefixes = {n.name.split("/")[1] for n in graph.node if n.name.startswith("model/")}
    assert {"nn", "gbm", "text", "ensemble"} <= prefixes
    assert any(n.op_type == "TfIdfVectorizer" for n in graph.node)
    test = df[df["split"] == "test"]
    got = Predictor(out / "model.onnx").run(
        {c: test[c].to_numpy(dtype=object) for c in ("note", "shop")} | {"x": test["x"].to_numpy(np.float32)}
    )
    want = model.outputs_for(test, "test rows", "torch")  # preprocessing graph + the Python core
    np.testing.assert_allclose(got["y::probabilities"], want["y::probabilities"], atol=1e-5)
    assert (got["y::label"] == want["y::label"]).all()


def test_the_saved_model_loads_with_its_weights_and_answers_the_same(three):
    from toolkit import load

    model, out, df = three
    again = load(out)
    assert again.model.weights == pytest.approx(model.model.weights)
    assert again.model.text is not None and again.model.gbm is not None
    rows = df[df["split"] == "test"].head(40)
    np.testing.assert_allclose(
        again.outputs_for(rows, "rows", "torch")["y::probabilities"],
        model.outputs_for(rows, "rows", "torch")["y::probabilities"],
        atol=1e-6,
    )


def test_refit_trains_the_text_member_on_train_and_validation_rows(three, text_only):
    model, out, df = three
    refit = json.loads((out / "training_stats.json").read_text())["refit"]
    assert refit["text"]["rows"] == int((df["split"] != "test").sum())
    assert refit["nn"]["rows"] == refit["text"]["rows"]
    assert "refit" not in json.loads((text_only[1] / "training_stats.json").read_text())  # trainer.refit false


def test_text_only_category_config_has_network_and_text_members(text_only):
    import onnx

    model, out, _ = text_only
    assert set(model.model.weights) == {"nn", "text"} and model.model.gbm is None
    assert json.loads((out / "gbm.json").read_text())["trees"] is None
    names = {n.name.split("/")[1] for n in onnx.load(out / "model.onnx").graph.node if n.name.startswith("model/")}
    assert "gbm" not in names and "text" in names
    assert model.model.text.heads[0][0].shape[1] == len(model.outputs[0].classes)


def test_a_config_without_text_keeps_the_two_member_average(tmp_path):
    import onnx

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    df = synthetic(300)
    cfg = config(
        [{"name": "x", "type": "number"}, {"name": "shop", "type": "category"}], {"name": "y", "type": "binary"}
    )
    model = train(cfg, df, output=tmp_path / "m")
    assert model.model.text is None and model.model.weights == {"nn": 0.5, "gbm": 0.5}
    ensemble = [n for n in onnx.load(tmp_path / "m" / "model.onnx").graph.node if n.name.startswith("model/ensemble/")]
    assert [(n.op_type, n.name) for n in ensemble] == [
        ("Add", "model/ensemble/y/sum"),
        ("Mul", "model/ensemble/y/mean"),
    ]
    assert "text" not in json.loads((tmp_path / "m" / "training_stats.json").read_text())["ensemble"]


def test_a_number_output_gets_no_text_member(tmp_path):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    df = synthetic(300)
    model = train(config([TEXT, {"name": "shop", "type": "category"}], {"name": "x", "type": "number"}), df)
    assert model.model.text is None and set(model.model.weights) == {"nn", "gbm"}


@pytest.mark.parametrize("backend", ["onnxruntime-node", "onnxruntime-web-wasm"])
def test_node_and_wasm_run_the_text_member_like_python(three, backend, tmp_path):
    import shutil

    from tests.test_edge_node import assert_same, flags_for, json_column, run_predict, write_json
    from toolkit.runtime.predictor import Predictor

    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found on PATH")
    model, out, df = three
    test = df[df["split"] == "test"].head(60)
    columns = {
        "note": np.array(list(test["note"]) + ["", "zzzq", "Great, LOVELY!"], dtype=object),
        "x": np.array(list(test["x"]) + [np.nan, 0.0, 1.0], dtype=np.float32),
        "shop": np.array(list(test["shop"]) + ["s1", "unseen", ""], dtype=object),
    }
    rows = tmp_path / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in columns.items()})
    got = run_predict(node, out / "model.onnx", rows, *flags_for(backend))
    assert_same(got, Predictor(out / "model.onnx").run(columns), backend)


def test_class_weights_weigh_the_text_members_rows(text_only):
    """A category's class_weights reach the member's logistic regression as sample weights (as they reach the
    network's loss and LightGBM's rows): the class weighted 25× is predicted on more test rows."""
    from copy import copy

    from toolkit.models import text_linear as tl

    model, _, df = text_only
    features = [model.inputs[i] for i in tl.text_inputs(model.inputs)]
    output = model.outputs[0]
    classes = list(output.classes)

    def rows(split):
        part = df[df["split"] == split]
        ids = model.preprocessor.transform({"note": part["note"].to_numpy(object)})["note"]
        return [ids], [np.array([classes.index(m) for m in part["mood"]], np.float64)]

    train_rows, test_rows = rows("train"), rows("test")
    heavy = copy(output)
    heavy.weights_ = [25.0 if c == "flat" else 1.0 for c in classes]
    assert tl.sample_weights(heavy, np.array([classes.index("flat"), 0])).tolist()[0] == 25.0
    x = tl.design([f.idf_ for f in features], test_rows[0])
    flat = []
    for out in (output, heavy):
        member, _ = tl.fit(features, [out], train_rows, ([], []))
        flat.append(int((member.scores(x)[0].argmax(axis=1) == classes.index("flat")).sum()))
    assert flat[1] > flat[0] + 5, flat
