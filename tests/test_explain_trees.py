"""Exact interventional TreeSHAP for the trees (toolkit.export.explain_trees, explain_trees_graph).

The closed form is held to brute-force Shapley values of the same game, played by LightGBM's own
predictions (so LightGBM's decision rules are the oracle: NaN routing, zero as missing, category sets,
unseen and negative ids, ±inf); the graph to the closed form in onnxruntime; a tk gbm's explanations
(model_type gbm plays the path-dependent game, toolkit.export.explain_path) to the promise (they add up
to the score minus the baseline) on hostile rows and to LightGBM's pred_contrib, for a binary and a
multiclass output; an ensemble's trees (this game) to the promise; and the closed form to shap's
interventional TreeExplainer where shap reads the trees right (numerical splits only: shap 0.51
mis-reads LightGBM's category splits, its own sums then miss).
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from toolkit.export import explain_trees as et
from toolkit.export import explain_trees_graph as eg

COLUMN_PLAYER = np.array([0, 1, 2, 3, 1])  # matrix columns 1 and 4 are one player (as a piecewise number)


def small_data(n: int = 600):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    x[:, 3] = rng.integers(0, 6, n)  # a category id column
    x[rng.random(n) < 0.1, 0] = np.nan
    x[rng.random(n) < 0.2, 1] = 0.0
    y = (x[:, 0] > 0.3).astype(int) + (x[:, 3] == 2) + (np.nan_to_num(x[:, 1]) > 0)
    return x, y


def hostile(x: np.ndarray) -> np.ndarray:
    rows = x[:12].copy()
    rows[0, 3], rows[1, 0], rows[2, 3], rows[3, 2], rows[4, 3] = 7, np.inf, np.nan, -np.inf, -1  # unseen id, ±inf
    rows[5, 1], rows[6, 0], rows[7, 4] = 1e-40, np.nan, 0.0  # zero as missing, NaN
    return rows


def booster(objective: str, y, **params):
    import lightgbm as lgb

    from toolkit.models.gbm.tree_check import read_booster

    x, _ = small_data()
    k = params.get("num_class", 1)
    settings = {"objective": objective, "verbosity": -1, "num_leaves": 8, "min_data_in_leaf": 5, "seed": 0}
    settings |= {"min_data_per_group": 5, "cat_smooth": 1, **params}
    lgb_booster = lgb.train(settings, lgb.Dataset(x, y, categorical_feature=[3]), num_boost_round=12)
    checked = read_booster(lgb_booster.model_to_string(), width=5, n_scores=k, max_trees=100, max_leaves=8, where="t")
    return lgb_booster, checked


def brute_force(lgb_booster, row: np.ndarray, background: np.ndarray, players: int) -> np.ndarray:
    """[K, P]: Shapley values of v(S) = mean_z f(row on S's columns, z elsewhere), f = LightGBM's raw score."""

    def v(s: set) -> np.ndarray:
        mixed = np.where(np.isin(COLUMN_PLAYER, list(s))[None, :], row[None, :], background)
        return lgb_booster.predict(mixed, raw_score=True).reshape(len(background), -1).mean(axis=0)

    phi = np.zeros((len(v(set())), players))
    for j in range(players):
        others = [i for i in range(players) if i != j]
        for size in range(players):
            w = math.factorial(size) * math.factorial(players - size - 1) / math.factorial(players)
            for s in combinations(others, size):
                phi[:, j] += w * (v(set(s) | {j}) - v(set(s)))
    return phi


def run_graph(emit, rows: np.ndarray) -> np.ndarray:
    """onnxruntime on the nodes `emit(x_name, op, const)` makes from X float32 [N, F]: its float64 output."""
    import onnxruntime as ort
    from onnx import TensorProto, checker, helper, numpy_helper

    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(op_type, inputs, name, outputs=1, **attrs):
        out = [name] if outputs == 1 else [f"{name}:{i}" for i in range(outputs)]
        nodes.append(helper.make_node(op_type, inputs, out, name=name, **attrs))
        return out[0] if outputs == 1 else out

    out = emit("X", op, const)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, rows.shape[1]])
    y_info = helper.make_tensor_value_info(out, TensorProto.DOUBLE, [None, None])
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x_info], [y_info], initializer=inits),
        opset_imports=[helper.make_opsetid("", 20)],
    )
    model.ir_version = 10
    checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": rows})[0]


def graph_values(p, c, rows: np.ndarray) -> np.ndarray:
    """The interventional graph of one booster in onnxruntime: [N, K, P]."""
    out = run_graph(lambda x, op, const: eg.emit(p, c, x, op, const, "t")[0], rows)
    return out.reshape(len(rows), p.classes, p.players)


@pytest.mark.parametrize(
    "objective,params",
    [("binary", {}), ("multiclass", {"num_class": 3}), ("regression", {"zero_as_missing": True})],
)
def test_the_closed_form_is_the_shapley_value_and_the_graph_computes_it(objective, params):
    x, y = small_data()
    target = {"binary": (y > 1).astype(int), "multiclass": y.clip(0, 2), "regression": y + x[:, 2]}[objective]
    lgb_booster, checked = booster(objective, target, **params)
    p = et.paths(checked, COLUMN_PLAYER, 4)
    if params.get("zero_as_missing"):
        assert p.zero_columns  # the NaN-as-zero rewrite is exercised
    assert any(cats is not None for cats in p.categories)  # category splits too
    rows, background = hostile(x), x[100:116]
    ours = et.tree_reference(p, rows, background)
    for i in range(0, len(rows), 3):
        np.testing.assert_allclose(ours[i], brute_force(lgb_booster, rows[i], background, 4), atol=1e-9)
    f = lgb_booster.predict(rows, raw_score=True).reshape(len(rows), -1)
    base = lgb_booster.predict(background, raw_score=True).reshape(len(background), -1).mean(axis=0)
    np.testing.assert_allclose(ours.sum(axis=2), f - base, atol=1e-9)  # efficiency, exactly
    c = et.cases(p, et.slot_ok(p, et.goes_left(p, background)))
    np.testing.assert_allclose(graph_values(p, c, rows), ours, atol=1e-6)  # weights stored as float32
    np.testing.assert_allclose(graph_values(p, c, rows[:1]), ours[:1], atol=1e-6)  # one row alone
    # x passes every slot of exactly one leaf per tree: the leaf LightGBM reaches
    ok = et.slot_ok(p, et.goes_left(p, rows))
    reached = np.array(
        [[ok[i, a:b].all() for a, b in zip(p.leaf_start[:-1], p.leaf_start[1:])] for i in range(len(rows))]
    )
    assert reached.sum(axis=1).tolist() == [len(checked.trees)] * len(rows)


def test_without_bits_for_the_masks_the_graph_takes_the_other_way(monkeypatch):
    """Paths longer than MASK_BITS players: "live" by a max over the slots z fails (and v on its own)."""
    x, y = small_data()
    _, checked = booster("binary", (y > 1).astype(int))
    p = et.paths(checked, COLUMN_PLAYER, 4)
    background = x[100:116]
    c = et.cases(p, et.slot_ok(p, et.goes_left(p, background)))
    monkeypatch.setattr(eg, "MASK_BITS", 0)
    np.testing.assert_allclose(graph_values(p, c, hostile(x)), et.tree_reference(p, hostile(x), background), atol=1e-6)


def test_shaps_interventional_tree_explainer_agrees_on_numerical_splits():
    shap = pytest.importorskip("shap")
    import lightgbm as lgb

    from toolkit.models.gbm.tree_check import read_booster

    x, y = small_data()
    x = np.nan_to_num(x[:, [0, 1, 2, 4]], nan=0.5)
    model = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 8, "seed": 0}, lgb.Dataset(x, y > 1), 12)
    checked = read_booster(model.model_to_string(), width=4, n_scores=1, max_trees=100, max_leaves=8, where="t")
    p = et.paths(checked, np.arange(4), 4)
    rows, background = x[:20], x[100:116]
    explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional", model_output="raw")
    theirs = np.asarray(explainer.shap_values(rows, check_additivity=False)).reshape(len(rows), 4)
    np.testing.assert_allclose(et.tree_reference(p, rows, background)[:, 0], theirs, atol=1e-6)


def frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    kind = rng.choice(["p", "q", "r", "s"], size=n)
    level = rng.choice(["low", "mid", "high"], size=n)
    score = np.nan_to_num(x) + (kind == "q") * 1.5 - (level == "high") + rng.normal(scale=0.3, size=n)
    return pd.DataFrame(
        {
            "x": x,
            "kind": kind,
            "level": level,
            "w": rng.normal(size=n),
            "yes": np.where(score > 0.3, "yes", "no"),
            "grade": np.where(score > 1, "a", np.where(score > -0.5, "b", "c")),
        }
    )


FOUR = {"x": "number", "kind": "category", "level": "category", "w": "number"}


def tk_config(model_type: str, inputs: dict, output: str, output_type: str, num_trees: int, **extra) -> dict:
    """A config on `frame`'s columns: {name: type} inputs, one output, `num_trees` trees on one thread."""
    return {
        "model_type": model_type,
        "input_features": [{"name": n, "type": t} for n, t in inputs.items()],
        "output_features": [{"name": output, "type": output_type}],
        "gbm": {"num_trees": num_trees, "threads": 1},
    } | extra


@pytest.mark.parametrize("output", ["yes", "grade"])
def test_a_tk_gbm_explains_exactly_and_keeps_the_promise_on_hostile_rows(output, tmp_path):
    """Saved through the export's parity check (the graph against the closed form, edge rows included); the
    attributions add up to the score minus the baseline, per class too; hostile rows stay finite."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.export.parity import edge_columns

    log.quiet = True
    cfg = tk_config("gbm", FOUR, output, "binary" if output == "yes" else "category", 30)
    df = frame()
    model = train(cfg, df.drop(columns=["grade" if output == "yes" else "yes"]), output=tmp_path / "m")
    meta = model.predictor.metadata["tk.explain"]
    assert meta["method"] == "trees" and meta["players"] == ["x", "kind", "level", "w"]
    assert meta["tree_game"] == "path_dependent" and meta["background_rows"] == 0  # no background row in the file
    rows = df.head(30)
    edges = edge_columns(model)
    hostile_rows = pd.DataFrame({c: edges[c] for c in ["x", "kind", "level", "w"]})  # NaN, inf, unseen, ""
    for data in (rows, hostile_rows):
        why = model.explain(data, classes=True)
        assert np.isfinite(why.to_numpy()).all()
        probs = model.predictor.run({c: data[c].to_numpy() for c in ["x", "kind", "level", "w"]})
        p = probs[f"{output}::probabilities"].astype(np.float64)
        if output == "yes":
            classes = list(model.outputs[0].classes)
            logit = np.log(p[:, classes.index("yes")] / p[:, classes.index("no")])
            got = why[[f"yes::why::{n}" for n in meta["players"]]].to_numpy(np.float64).sum(axis=1)
            np.testing.assert_allclose(got, logit - meta["baseline"]["yes"], atol=2e-4)
        else:
            logp = np.log(p)
            for k, c in enumerate(model.outputs[0].classes):
                got = why[[f"grade::why::{c}::{n}" for n in meta["players"]]].to_numpy(np.float64).sum(axis=1)
                base = np.array(meta["baseline"]["grade"])
                # logits are log-probabilities up to a constant per row: compare differences between classes
                want = (logp[:, k] - logp[:, 0]) - (base[k] - base[0])
                other = why[[f"grade::why::{model.outputs[0].classes[0]}::{n}" for n in meta["players"]]]
                np.testing.assert_allclose(got - other.to_numpy(np.float64).sum(axis=1), want, atol=2e-4)
    # the path-dependent game: the file gives LightGBM's own pred_contrib (one matrix column per player here)
    gbm = model.model.gbm
    raw = {c: rows[c].to_numpy(np.float32 if c in ("x", "w") else object) for c in meta["players"]}
    x = gbm.layout_.matrix(model.preprocessor.transform(raw))
    names = [b.feature for b in gbm.layout_.blocks]
    assert len(names) == x.shape[1] == 4
    classes = ["yes"] if output == "yes" else list(model.outputs[0].classes)
    contrib = gbm.boosters_[0].booster.predict(x, pred_contrib=True).reshape(len(x), len(classes), 5)
    why = model.explain(rows, classes=True)
    for k, c in enumerate(classes):
        prefix = "yes::why::" if output == "yes" else f"grade::why::{c}::"
        got = why[[prefix + n for n in names]].to_numpy(np.float64)
        np.testing.assert_allclose(got, contrib[:, k, :4], atol=1e-4)
    np.testing.assert_allclose(meta["baseline"][output], contrib[0, :, 4].squeeze(), atol=1e-6)


def test_an_ensembles_trees_are_exact_and_the_rest_sampled(tmp_path):
    """model_type ensemble: the trees' term (blend weight × booster) by the closed form, the network's by the
    sampled method on a copy of the network alone; together they keep the promise (the save's parity check
    held the graph to the training path's reference of both parts)."""
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    cfg = tk_config("ensemble", FOUR, "yes", "binary", 20, trainer={"epochs": 2, "batch_size": 64})
    df = frame().drop(columns=["grade"])
    model = train(cfg, df, output=tmp_path / "e")
    meta = model.predictor.metadata["tk.explain"]
    assert meta["method"] == "trees + exact" and meta["players"] == ["x", "kind", "level", "w"]
    assert meta["tree_game"] == "interventional"  # one game for the whole file: the network's
    why = model.explain(df.head(30))
    p = model.predictor.run({c: df.head(30)[c].to_numpy() for c in ["x", "kind", "level", "w"]})["yes::probabilities"]
    classes = list(model.outputs[0].classes)
    logit = np.log(p[:, classes.index("yes")].astype(np.float64) / p[:, classes.index("no")])
    np.testing.assert_allclose(why.to_numpy(np.float64).sum(axis=1), logit - meta["baseline"]["yes"], atol=2e-4)


def test_a_forest_over_the_slot_cap_is_explained_by_the_sampled_method(tmp_path, monkeypatch):
    """An ensemble's forest (interventional) with more path slots than EXACT_MAX_SLOTS keeps the file small:
    every term sampled, the export's parity check passes (the reference makes the same choice) and the
    promise holds."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.export import explain

    log.quiet = True
    monkeypatch.setattr(explain, "EXACT_MAX_SLOTS", 10)
    two = {"x": "number", "kind": "category"}
    cfg = tk_config("ensemble", two, "yes", "binary", 10, trainer={"epochs": 2, "batch_size": 64})
    df = frame()[["x", "kind", "yes"]]
    model = train(cfg, df, output=tmp_path / "m")
    meta = model.predictor.metadata["tk.explain"]
    assert meta["method"] == "exact" and "tree_slots" not in meta  # 2 players: every coalition
    rows = df.head(20)
    why = model.explain(rows)[["yes::why::x", "yes::why::kind"]].to_numpy(np.float64).sum(axis=1)
    p = model.predictor.run({c: rows[c].to_numpy() for c in ["x", "kind"]})["yes::probabilities"].astype(np.float64)
    classes = list(model.outputs[0].classes)
    logit = np.log(p[:, classes.index("yes")] / p[:, classes.index("no")])
    np.testing.assert_allclose(why, logit - meta["baseline"]["yes"], atol=2e-4)
