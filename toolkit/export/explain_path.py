"""Path-dependent TreeSHAP of LightGBM trees inside model.onnx: LightGBM's pred_contrib, shap's default.

The game (shap's "tree_path_dependent"): v(S) = the trees' own estimate of E[f(X) | X_S = x_S]. A split
on a player in S sends the row the way x goes; a split on any other player sends it down both
children, weighted by the share of the training rows each child received (LightGBM's counts, the
"covers"). Per leaf of value v_L whose path's split nodes are grouped by player into slots (explain_trees
.Paths): a_u = 1 when x passes slot u, else 0; b_u = the product of the cover shares on its nodes. The
leaf's part of the game is a product, v_L · Π_{u in S} a_u · Π_{u not in S} b_u, whose Shapley value is

    φ_u = v_L · (a_u − b_u) · Σ_s e_s(u) · s! (n−1−s)! / n!     (n slots; e_s(u): coefficient of y^s in
                                                                Π_{k≠u} (b_k + a_k y))
        = v_L · (a_u − b_u) · ∫₀¹ Π_{k≠u} (b_k (1−t) + a_k t) dt

(∫₀¹ t^s (1−t)^(n−1−s) dt is the Shapley weight). Summed over a tree's leaves: f(x) minus the tree's
mean over its training rows, Σ_L v_L · count_L / count_root. That expectation summed over the trees is
the baseline (`expected`); the attributions add up to raw(x) − baseline exactly.

    closed_form(p, x_ok) [N, K, P]   the first line, in float64 (coefficients by a product over the slots):
                                     the parity reference, checked against LightGBM's pred_contrib in tests
    emit(p, x32, op, const, name)    the graph: the second line by Gauss–Legendre with ⌈n/2⌉ points (exact
                                     for the degree n−1 polynomial), leaves grouped by that count

A row costs the graph O(S · n/2) float32 values and no evaluation of the trees; the constants are a
float32 cover and value per slot and explain_trees_graph's gather indexes.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from toolkit.export.explain_trees import Paths, column_players, goes_left, matched, paths, slot_ok
from toolkit.export.explain_trees_graph import DOUBLE, FLOAT, Graph, decisions, matrix

#: Covers below this are read as this in the graph (a share of 0 would divide 0 by 0 there).
MIN_COVER = 1e-12


def slot_covers(p: Paths) -> np.ndarray:
    """b float64 [S]: the product of the cover shares of the slot's nodes (NaN without counts)."""
    out = np.ones(len(p.slot_nodes))
    for s, nodes in enumerate(p.slot_nodes):
        for node, left in nodes:
            out[s] *= p.cover_left[node] if left else p.cover_right[node]
    return out


def covered(trained, members: list) -> bool:
    """Every tree of `members` [(weight, GbmModel)] has its training counts (LightGBM writes them)."""
    return all(
        t.leaf_count is not None and (t.num_leaves < 2 or t.internal_count[0] > 0)
        for _, gbm in members
        for b in matched(trained, gbm)
        for t in b.trees.trees
    )


def expected(booster) -> np.ndarray:
    """float64 [K]: the mean raw score of the training rows per class, Σ over the trees of Σ_L v_L · count_L /
    count_root (a tree of one leaf: its value). `booster`: toolkit.models.gbm.tree_check.Booster."""
    k = booster.num_tree_per_iteration
    out = np.zeros(k)
    for t, tree in enumerate(booster.trees):
        if tree.num_leaves < 2:
            out[t % k] += float(tree.leaf_value[0])
        else:
            out[t % k] += float(np.dot(tree.leaf_value, tree.leaf_count) / tree.internal_count[0])
    return out


def _leaf_groups(p: Paths) -> dict[int, np.ndarray]:
    """{n: the leaves with n slots}."""
    sizes = np.diff(p.leaf_start)
    return {int(n): np.flatnonzero(sizes == n) for n in np.unique(sizes)}


def closed_form(p: Paths, x_ok: np.ndarray) -> np.ndarray:
    """x_ok bool [N, S] → float64 [N, K, P]: the Shapley values, by the coefficients e_s(u) of each leaf
    (leaves of n slots at once: [N, leaves, n] arrays)."""
    n_rows = len(x_ok)
    out = np.zeros((n_rows, p.classes * p.players))
    b_all = slot_covers(p)
    for n, leaves in _leaf_groups(p).items():
        idx = p.leaf_start[leaves][:, None] + np.arange(n)  # [L_n, n] slots
        a = x_ok[:, idx].astype(np.float64)  # [N, L_n, n]
        b = np.broadcast_to(b_all[idx], a.shape)
        weights = np.array([factorial(s) * factorial(n - 1 - s) / factorial(n) for s in range(n)])
        for u in range(n):
            coef = np.zeros((*a.shape[:2], n))  # polynomial in y of Π_{k≠u} (b_k + a_k y), degree < n
            coef[..., 0] = 1.0
            for k in range(n):
                if k == u:
                    continue
                shifted = np.concatenate([np.zeros((*a.shape[:2], 1)), coef[..., :-1]], axis=2)
                coef = coef * b[..., k : k + 1] + shifted * a[..., k : k + 1]
            phi = p.leaf_value[leaves] * (a[..., u] - b[..., u]) * (coef @ weights)  # [N, L_n]
            slots = idx[:, u]
            key = p.leaf_class[p.slot_leaf[slots]] * p.players + p.slot_player[slots]
            np.add.at(out, (slice(None), key), phi)
    return out.reshape(n_rows, p.classes, p.players)


def tree_reference(p: Paths, x: np.ndarray, elements: int = 4_000_000) -> np.ndarray:
    """x float32 [N, F] (the trees' matrix) → float64 [N, K, P], in chunks of rows of about `elements` slots."""
    chunk = max(1, elements // max(1, len(p.slot_leaf) * p.depth))
    parts = [closed_form(p, slot_ok(p, goes_left(p, x[i : i + chunk]))) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, p.classes, p.players))


def reference(trained, members: list, pre: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per output in trained.outputs' order: float64 [N, P] (one score) or [N, C, P], the raw score's
    path-dependent Shapley values by `closed_form`."""
    from toolkit.export.explain_sampled import players

    n_players = len(players(trained))
    n = len(next(iter(pre.values())))
    total = [None for _ in trained.outputs]
    for weight, gbm in members:
        col_player = column_players(trained, gbm)
        x = gbm.layout_.matrix(pre)
        for i, b in enumerate(matched(trained, gbm)):
            p = paths(b.trees, col_player, n_players)
            att = weight * tree_reference(p, x) if len(p.leaf_value) else np.zeros((n, b.n_scores, n_players))
            total[i] = att if total[i] is None else total[i] + att
    return [t[:, 0, :] if t.shape[1] == 1 else t for t in total]


# ---- the graph -------------------------------------------------------------------------------------


def _quadrature(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre points t [q] and weights w [q] on [0, 1]: exact for polynomials of degree < 2q."""
    t, w = np.polynomial.legendre.leggauss(q)
    return (t + 1) / 2, w / 2


def emit(p: Paths, x32: str, op, const, name: str) -> tuple[str, int]:
    """Nodes from X float32 [N, F] to one booster's attributions float64 [N, K·P]; returns (that value, the
    float32 values a row makes, roughly). `op`, `const`: explain.py's.

        passes a       [N, S + 1]     1 − "x fails the slot" (explain_trees_graph), the last column 1
        per group of leaves needing Q points (n slots, Q = ⌈n/2⌉), its S_g slots:
          h            [N·Q, S_g + 1] b (1 − t_q) + a t_q, then a column of 1
          P            [N·Q, L_g]     the product of h over each leaf's slots (ReduceProd, padded with 1)
          ∫            [N, S_g]       Σ_q w_q · P(leaf) / h(slot)
          φ            [N, S_g]       v_L · (a − b) · ∫
        per (class, player)  [N, K·P] float64 sums of φ
    """
    g = Graph(op, const, name, x32)
    m, s = len(p.feature), len(p.slot_leaf)
    dec, pos = decisions(g, p, x32)  # [N, 2M + 1], the last column 0
    wrong = [[int(pos[node]) + (m if left else 0) for node, left in nodes] for nodes in p.slot_nodes]
    fx, at_fx = g.grouped(dec, 2 * m, wrong, "ReduceMax", "x_fails", np.float32, ordered=False)  # [N, S + 1]
    passes = g.op("Sub", [g.const("one", np.float32(1)), fx], "passes")
    cover = np.maximum(slot_covers(p), MIN_COVER)
    sizes = np.diff(p.leaf_start)
    need = np.maximum(1, (sizes + 1) // 2)  # Gauss–Legendre points per leaf
    values, order, work = [], [], 0
    for q in np.unique(need).tolist():
        leaves = np.flatnonzero(need == q)
        slots = np.concatenate([np.arange(p.leaf_start[lf], p.leaf_start[lf + 1]) for lf in leaves])
        local = np.repeat(np.arange(len(leaves)), sizes[leaves])  # [S_g] the leaf of each slot, 0..L_g-1
        w_g = len(slots)
        t, w = _quadrature(q)
        gq = f"q{q}"
        a = g.take(passes, at_fx[slots], f"{gq}/passes")  # [N, S_g]
        a3 = g.op("Unsqueeze", [a, g.const("axis1", np.array([1]))], f"{gq}/passes_3")  # [N, 1, S_g]
        h0 = (cover[slots][None, :] * (1 - t[:, None])).astype(np.float32)  # [Q, S_g]
        at = g.op("Mul", [a3, g.const(f"{gq}/t", t.astype(np.float32).reshape(q, 1))], f"{gq}/at")
        h = g.op("Add", [at, g.const(f"{gq}/h0", h0)], f"{gq}/h")  # [N, Q, S_g]
        flat = g.op("Reshape", [h, g.const(f"{gq}/flat_shape", np.array([-1, w_g]))], f"{gq}/h_flat")
        rows = Graph(op, const, f"{name}/{gq}/rows", flat)  # N·Q rows
        padded = g.op("Concat", [flat, rows.filled("ones", 1, 1.0, np.float32)], f"{gq}/h_padded", axis=1)
        groups = np.split(np.arange(w_g), np.cumsum(sizes[leaves])[:-1])
        prod, at_leaf = rows.grouped(padded, w_g, groups, "ReduceProd", "leaf_prod", np.float32, ordered=False)
        others = g.op("Div", [rows.take(prod, at_leaf[local], "leaf_prod_slots"), flat], f"{gq}/others")
        back = g.op("Reshape", [others, g.const(f"{gq}/back_shape", np.array([-1, q, w_g]))], f"{gq}/others_3")
        weighted = g.op("Mul", [back, g.const(f"{gq}/w", w.astype(np.float32).reshape(q, 1))], f"{gq}/weighted")
        integral = g.op("ReduceSum", [weighted, g.const("axis1", np.array([1]))], f"{gq}/integral", keepdims=0)
        gap = g.op("Sub", [a, g.const(f"{gq}/cover", cover[slots].astype(np.float32))], f"{gq}/gap")  # a − b
        scaled = g.op(
            "Mul",
            [integral, g.const(f"{gq}/value", p.leaf_value[p.slot_leaf[slots]].astype(np.float32))],
            f"{gq}/scaled",
        )
        values.append(g.op("Mul", [gap, scaled], f"{gq}/phi"))
        order.append(slots)
        work += rows.items + q * w_g * 6
    order = np.concatenate(order)
    phi = g.op("Concat", [*values, g.zeros(np.float32)], "phi", axis=1)  # [N, S + 1], slots in `order`
    phi = g.op("Cast", [phi], "phi_d", to=DOUBLE)  # the sums per player in float64
    key = p.leaf_class[p.slot_leaf[order]] * p.players + p.slot_player[order]
    by_key = [np.flatnonzero(key == k).tolist() for k in range(p.classes * p.players)]
    return g.grouped(phi, s, by_key, "ReduceSum", "players", np.float64), g.items + work


def build(trained, members: list, op, const) -> tuple[list, dict]:
    """The nodes of the trees' path-dependent attributions; `members` [(weight, GbmModel)]. Returns
    ([(attributions float32 [N, P] or [N, C, P], baseline raw score: float or [C] float64)] per output in
    trained.outputs' order, {"items": float32 values a row makes, "slots": S}) as explain_trees_graph.build."""
    from toolkit.export.explain_sampled import players

    n_players = len(players(trained))
    values: list[list[str]] = [[] for _ in trained.outputs]
    baselines: list = [0.0 for _ in trained.outputs]
    items = slots = 0
    x32 = None
    for m, (weight, gbm) in enumerate(members):
        x32 = matrix(gbm.layout_, op, const, f"trees{m}")
        col_player = column_players(trained, gbm)
        for i, b in enumerate(matched(trained, gbm)):
            name = f"trees{m}/{b.name}"
            mean = expected(b.trees)
            baselines[i] = baselines[i] + weight * (mean if b.n_scores > 1 else float(mean[0]))
            p = paths(b.trees, col_player, n_players)
            if not len(p.leaf_value):  # no split anywhere: nothing to attribute
                continue
            out, made = emit(p, x32, op, const, name)
            if weight != 1.0:
                out = op("Mul", [out, const(f"{name}/weight", np.float64(weight))], f"{name}/weighted")
            values[i].append(out)
            slots, items = slots + len(p.slot_leaf), items + made
    outs = []
    for i, (o, b) in enumerate(zip(trained.outputs, matched(trained, members[0][1]))):
        name = f"trees/{o.config.name}"
        k = b.n_scores
        if not values[i]:
            total = Graph(op, const, name, x32).filled("zeros", k * n_players, 0, np.float64)
        else:
            total = values[i][0] if len(values[i]) == 1 else op("Sum", values[i], f"{name}/sum")
        f32 = op("Cast", [total], f"{name}/float", to=FLOAT)
        shape = np.array([-1, n_players] if k == 1 else [-1, k, n_players], np.int64)
        outs.append((op("Reshape", [f32, const(f"{name}/shape", shape)], f"{name}/attributions"), baselines[i]))
    return outs, {"items": items, "slots": slots}
