"""Path-dependent TreeSHAP for model_type gbm (toolkit.export.explain_path).

The closed form is held to LightGBM's own pred_contrib (its C++ TreeSHAP, what shap's default
TreeExplainer returns for LightGBM) on hostile rows, one player per matrix column; to brute-force
Shapley values of the path-dependent game (the trees walked with their counts) when several columns
are one player; the graph to the closed form in onnxruntime; and a tk gbm model's file to pred_contrib.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from tests.test_explain_trees import COLUMN_PLAYER, booster, hostile, run_graph, small_data, tk_config
from toolkit.export import explain_path as ep
from toolkit.export import explain_trees as et

OWN_COLUMN = np.arange(5)
TWO = {"x": "number", "kind": "category"}  # frame()'s columns the small models read


def path_game(checked, row: np.ndarray, players: set, column_player: np.ndarray) -> np.ndarray:
    """[K]: v(S), the trees' estimate of E[f | the columns of S's players as in `row`], by walking each tree:
    a split on a column of S goes x's way, any other split both ways weighted by the children's counts."""
    p = et.paths(checked, column_player, int(column_player.max()) + 1)
    left = et.goes_left(p, row[None, :])[0]  # [M], nodes numbered as in paths (trees of one leaf skipped)
    k = checked.num_tree_per_iteration
    out, base = np.zeros(k), 0

    def walk(tree, node: int) -> float:
        if node < 0:
            return float(tree.leaf_value[~node])
        l_child, r_child = int(tree.left_child[node]), int(tree.right_child[node])
        if column_player[tree.split_feature[node]] in players:
            return walk(tree, l_child if left[base + node] else r_child)

        def count(c):
            return tree.internal_count[c] if c >= 0 else tree.leaf_count[~c]

        total = tree.internal_count[node]
        return (count(l_child) * walk(tree, l_child) + count(r_child) * walk(tree, r_child)) / total

    for t, tree in enumerate(checked.trees):
        if tree.num_leaves < 2:
            out[t % k] += tree.leaf_value[0]
            continue
        out[t % k] += walk(tree, 0)
        base += tree.num_leaves - 1
    return out


def brute_force(checked, row: np.ndarray, column_player: np.ndarray) -> np.ndarray:
    """[K, P]: the Shapley values of `path_game`, coalition by coalition."""
    n = int(column_player.max()) + 1
    phi = np.zeros((checked.num_tree_per_iteration, n))
    for j in range(n):
        others = [i for i in range(n) if i != j]
        for size in range(n):
            w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for s in combinations(others, size):
                with_j = path_game(checked, row, set(s) | {j}, column_player)
                phi[:, j] += w * (with_j - path_game(checked, row, set(s), column_player))
    return phi


def graph_values(p, rows: np.ndarray) -> np.ndarray:
    """explain_path's graph of one booster in onnxruntime: [N, K, P]."""
    out = run_graph(lambda x, op, const: ep.emit(p, x, op, const, "t")[0], rows)
    return out.reshape(len(rows), p.classes, p.players)


@pytest.mark.parametrize(
    "objective,params",
    [("binary", {}), ("multiclass", {"num_class": 3}), ("regression", {"zero_as_missing": True})],
)
def test_the_closed_form_is_lightgbms_pred_contrib_and_the_graph_computes_it(objective, params):
    x, y = small_data()
    target = {"binary": (y > 1).astype(int), "multiclass": y.clip(0, 2), "regression": y + x[:, 2]}[objective]
    lgb_booster, checked = booster(objective, target, **params)
    rows = hostile(x)
    k = checked.num_tree_per_iteration
    contrib = lgb_booster.predict(rows, pred_contrib=True).reshape(len(rows), k, 6)  # 5 columns + expected
    p = et.paths(checked, OWN_COLUMN, 5)
    assert any(cats is not None for cats in p.categories)  # category splits are exercised
    ours = ep.tree_reference(p, rows)
    np.testing.assert_allclose(ours, contrib[:, :, :5], atol=1e-9)
    np.testing.assert_allclose(ep.expected(checked), contrib[0, :, 5], atol=1e-9)  # the baseline
    np.testing.assert_allclose(graph_values(p, rows), ours, atol=2e-6)  # float32 in the graph
    np.testing.assert_allclose(graph_values(p, rows[:1]), ours[:1], atol=2e-6)  # one row alone


def test_several_columns_of_one_player_are_the_shapley_value_of_the_grouped_game():
    x, y = small_data()
    _, checked = booster("multiclass", y.clip(0, 2), num_class=3)
    p = et.paths(checked, COLUMN_PLAYER, 4)  # columns 1 and 4 are one player
    rows = hostile(x)
    ours = ep.tree_reference(p, rows)
    for i in range(0, len(rows), 4):
        np.testing.assert_allclose(ours[i], brute_force(checked, rows[i], COLUMN_PLAYER), atol=1e-9)
    np.testing.assert_allclose(graph_values(p, rows), ours, atol=2e-6)


def test_a_deep_path_needs_more_quadrature_points_and_gets_them():
    """num_leaves 40 on 5 columns: paths with every column, so leaves of 1–5 slots (1–3 points)."""
    import lightgbm as lgb

    from toolkit.models.gbm.tree_check import read_booster

    x, y = small_data()
    settings = {"objective": "regression", "verbosity": -1, "num_leaves": 40, "min_data_in_leaf": 2, "seed": 0}
    lgb_booster = lgb.train(settings, lgb.Dataset(x, y + x[:, 2] * x[:, 4], categorical_feature=[3]), 8)
    text = lgb_booster.model_to_string()
    checked = read_booster(text, width=5, n_scores=1, max_trees=8, max_leaves=40, where="t")
    p = et.paths(checked, OWN_COLUMN, 5)
    assert p.depth == 5
    rows = hostile(x)
    contrib = lgb_booster.predict(rows, pred_contrib=True)
    np.testing.assert_allclose(graph_values(p, rows)[:, 0, :], contrib[:, :5], atol=5e-6)


def test_a_forest_cut_into_parts_gives_the_same_numbers(tmp_path, monkeypatch):
    """A forest over PART_LEAVES leaves is cut into parts of whole rounds (uint16 indexes each); the file's
    per-class attributions are still LightGBM's pred_contrib (the export's parity check passed too)."""
    from tests.test_explain_trees import frame
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    monkeypatch.setattr(ep, "PART_LEAVES", 40)
    cfg = tk_config("gbm", TWO, "grade", "category", 12)
    df = frame()[["x", "kind", "grade"]]
    model = train(cfg, df, output=tmp_path / "m")
    booster = model.model.gbm.boosters_[0]
    cut = ep.parts(booster.trees)
    assert len(cut) > 2 and all(len(part.trees) % 3 == 0 for part in cut)  # whole rounds of 3 classes
    rows = df.head(25)
    x = model.model.gbm.layout_.matrix(
        model.preprocessor.transform({"x": rows["x"].to_numpy(np.float32), "kind": rows["kind"].to_numpy(object)})
    )
    classes = list(model.outputs[0].classes)
    contrib = booster.booster.predict(x, pred_contrib=True).reshape(len(x), len(classes), 3)
    why = model.explain(rows, classes=True)
    for k, c in enumerate(classes):
        got = why[[f"grade::why::{c}::x", f"grade::why::{c}::kind"]].to_numpy(np.float64)
        np.testing.assert_allclose(got, contrib[:, k, :2], atol=2e-6)


def test_paths_of_up_to_12_players_use_6_points_and_stay_exact():
    """12 columns, leaves of up to 64: paths with many players, where ⌈n/2⌉ quadrature points must be exact."""
    import lightgbm as lgb

    from toolkit.models.gbm.tree_check import read_booster

    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 12)).astype(np.float32)
    y = np.sin(x[:, :6].sum(axis=1)) + x[:, 6:].prod(axis=1)
    settings = {"objective": "regression", "verbosity": -1, "num_leaves": 64, "min_data_in_leaf": 2, "seed": 0}
    lgb_booster = lgb.train(settings, lgb.Dataset(x, y), 6)
    text = lgb_booster.model_to_string()
    checked = read_booster(text, width=12, n_scores=1, max_trees=6, max_leaves=64, where="t")
    p = et.paths(checked, np.arange(12), 12)
    assert p.depth >= 11  # leaves of 11 or 12 players: 6 points
    rows = x[:20].copy()
    rows[0, 3], rows[1, 7] = np.nan, np.inf
    contrib = lgb_booster.predict(rows, pred_contrib=True)
    np.testing.assert_allclose(ep.tree_reference(p, rows)[:, 0, :], contrib[:, :12], atol=1e-9)
    np.testing.assert_allclose(graph_values(p, rows)[:, 0, :], contrib[:, :12], atol=1e-5)


def test_without_counts_or_with_a_node_of_no_rows_the_trees_play_the_interventional_game(tmp_path):
    """A gbm.json whose trees lack LightGBM's counts (or hold a split node no row reached) cannot play the
    path-dependent game: exact_split falls back to the interventional one, and that file still exports
    through the parity check and keeps the promise."""
    from dataclasses import replace

    from tests.test_explain_trees import frame
    from toolkit import train
    from toolkit.common import log
    from toolkit.export import explain

    log.quiet = True
    cfg = tk_config("gbm", TWO, "yes", "binary", 8)
    df = frame()[["x", "kind", "yes"]]
    model = train(cfg, df, output=tmp_path / "m")
    assert explain.exact_split(model, None)[2] == "path_dependent"
    b = model.model.gbm.boosters_[0]
    trees = b.trees.trees
    zero = replace(trees[0], internal_count=np.r_[trees[0].internal_count[:-1], 0])
    b.trees = replace(b.trees, trees=[zero, *trees[1:]])
    assert explain.exact_split(model, None)[2] == "interventional"
    b.trees = replace(b.trees, trees=[replace(t, leaf_count=None, internal_count=None) for t in trees])
    assert explain.exact_split(model, None)[2] == "interventional"
    model._onnx = None
    model.save(tmp_path / "again")  # the export's parity check: graph against the interventional reference
    meta = model.predictor.metadata["tk.explain"]
    assert meta["tree_game"] == "interventional"
    rows = df.head(20)
    why = model.explain(rows)[["yes::why::x", "yes::why::kind"]].to_numpy(np.float64).sum(axis=1)
    p = model.predictor.run({c: rows[c].to_numpy() for c in ["x", "kind"]})["yes::probabilities"].astype(np.float64)
    classes = list(model.outputs[0].classes)
    logit = np.log(p[:, classes.index("yes")] / p[:, classes.index("no")])
    np.testing.assert_allclose(why, logit - meta["baseline"]["yes"], atol=2e-4)


def test_inputs_of_many_columns_are_one_player_each(tmp_path):
    """A gbm reading a set (99 columns), a date (57), a vector and a series: each input is one player of the
    path-dependent game (its columns' splits grouped per path), the export's parity check passes and the
    attributions add up to the value minus the baseline, in the output's units."""
    from tests.test_explain import mixed_frame
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    inputs = {"x": "number", "kind": "category", "review": "set", "day": "date", "v": "vector", "s": "timeseries"}
    cfg = tk_config("gbm", inputs, "y", "number", 40)
    df = mixed_frame()
    model = train(cfg, df, output=tmp_path / "m")
    assert max(b.width for b in model.model.gbm.layout_.blocks) > 50
    meta = model.predictor.metadata["tk.explain"]
    assert meta["tree_game"] == "path_dependent" and meta["players"] == list(inputs)
    why = model.explain(df.head(20))
    value = model.predict(df.head(20))["y::value"].to_numpy(np.float64)
    np.testing.assert_allclose(why.to_numpy().sum(axis=1), value - meta["baseline"]["y"], atol=1e-3)
    assert why["y::why::x"].abs().mean() > why["y::why::kind"].abs().mean()  # y follows x, not kind
