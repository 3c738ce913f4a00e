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
                                     for the degree n−1 polynomial), leaves grouped by their slot count n

A row costs the graph O(S · n/2) float32 values and no evaluation of the trees; the constants are a
float32 cover per slot, a value per leaf and the gather indexes (explain_trees_graph's node decisions,
the slots in order, the sums per player): leaf_id_flavia's 9,056 trees (92k leaves, 539k slots) make
its model.onnx 3.6 → 11.4 MB.
"""

from __future__ import annotations

from dataclasses import replace
from math import factorial

import numpy as np

from toolkit.export.explain_trees import Paths, goes_left, matched, paths, reference_terms, slot_ok
from toolkit.export.explain_trees_graph import DOUBLE, Graph, build_terms, decisions, player_count

#: Covers below this are read as this in the graph (a share of 0 would divide 0 by 0 there).
MIN_COVER = 1e-12
#: Leaves per part of a forest in the graph (whole rounds): a part's nodes stay under 65,536 and so do its
#: slots while paths hold at most 8 players (else its indexes are int32: bigger, the same numbers), so
#: its gather indexes are uint16 (leaf_id_flavia's explain branch: 10.7 → 7.8 MB).
PART_LEAVES = 8_192


def slot_covers(p: Paths) -> np.ndarray:
    """b float64 [S]: the product of the cover shares of the slot's nodes (NaN without counts)."""
    if not len(p.slot_nodes):
        return np.ones(0)
    node, left, start = p.flat_nodes
    return np.multiply.reduceat(np.where(left, p.cover_left[node], p.cover_right[node]), start)


def covered(trained, members: list) -> bool:
    """Every tree of `members` [(weight, GbmModel)] has its training counts (LightGBM writes them), every
    split node a positive one (a share of 0 rows would be 0 / 0)."""
    return all(
        t.leaf_count is not None and (t.internal_count > 0).all()
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


def closed_form(p: Paths, x_ok: np.ndarray, b_all: np.ndarray | None = None) -> np.ndarray:
    """x_ok bool [N, S] → float64 [N, K, P]: the Shapley values, by the coefficients e_s(u) of each leaf
    (leaves of n slots at once: [N, leaves, n] arrays). `b_all` [S]: slot_covers(p), if the caller has it."""
    n_rows = len(x_ok)
    out = np.zeros((n_rows, p.classes * p.players))
    b_all = slot_covers(p) if b_all is None else b_all
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
    chunk = max(1, elements // max(1, len(p.slot_leaf)))
    b = slot_covers(p)
    parts = [closed_form(p, slot_ok(p, goes_left(p, x[i : i + chunk])), b) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, p.classes, p.players))


def reference(trained, members: list, pre: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per output in trained.outputs' order: float64 [N, P] (one score) or [N, C, P], the raw score's
    path-dependent Shapley values by `closed_form` (explain_trees.reference_terms)."""
    return reference_terms(trained, members, pre, lambda gbm, p, x: tree_reference(p, x))


# ---- the graph -------------------------------------------------------------------------------------


def _quadrature(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre points t [q] and weights w [q] on [0, 1]: exact for polynomials of degree < 2q."""
    t, w = np.polynomial.legendre.leggauss(q)
    return (t + 1) / 2, w / 2


def emit(p: Paths, x32: str, op, const, name: str) -> tuple[str, int]:
    """Nodes from X float32 [N, F] to one booster's attributions float64 [N, K·P]; returns (that value, the
    float32 values a row makes, roughly). `op`, `const`: explain.py's.

        a        [N, S]                1 − "x fails the slot" (explain_trees_graph), slots ordered by their
                                       leaf's slot count n, then leaf, then position
        per n, its L_n leaves, Q = ⌈n/2⌉ points t_q, weights w_q:
          h      [N, Q, L_n, n]        b (1 − t_q) + a t_q
          P / h  [N, Q, L_n, n]        the product over the leaf's other slots (ReduceProd over the last
                                       axis, then Div: h > 0 at interior points, b ≥ MIN_COVER)
          φ      [N, L_n, n]           v_L · (a − b) · Σ_q w_q P / h
        per (class, player)  [N, K·P]  float64 sums of φ

    Constants per slot: its cover (float32) and two gather indexes; per leaf its value."""
    g = Graph(op, const, name, x32)
    m, s = len(p.feature), len(p.slot_leaf)
    dec, pos = decisions(g, p, x32)  # [N, 2M + 1], the last column 0
    wrong = [[int(pos[node]) + (m if left else 0) for node, left in nodes] for nodes in p.slot_nodes]
    fx, at_fx = g.grouped(dec, 2 * m, wrong, "ReduceMax", "x_fails", np.float32, ordered=False)  # [N, S + 1]
    cover = np.maximum(slot_covers(p), MIN_COVER)
    leaves_of = _leaf_groups(p)
    counts = list(leaves_of)
    order = np.concatenate([(p.leaf_start[leaves_of[n]][:, None] + np.arange(n)).reshape(-1) for n in counts])
    failed = g.take(fx, at_fx[order], "x_fails_ordered")  # [N, S], slots in `order`
    a_all = g.op("Sub", [g.const("one", np.float32(1)), failed], "passes")
    widths = np.array([len(leaves_of[n]) * n for n in counts], np.int64)
    parts = [a_all]
    if len(counts) > 1:
        parts = g.op("Split", [a_all, g.const("widths", widths)], "passes_by_count", axis=1, outputs=len(counts))
    values, work = [], 0
    for n, a, width in zip(counts, parts, widths.tolist()):
        leaves = leaves_of[n]
        q = (n + 1) // 2
        t, w = _quadrature(q)
        gn = f"n{n}"
        b = cover[p.leaf_start[leaves][:, None] + np.arange(n)].astype(np.float32)  # [L_n, n]
        b_c = g.const(f"{gn}/cover", b)
        a4 = g.op("Reshape", [a, g.const(f"{gn}/shape4", np.array([-1, 1, len(leaves), n]))], f"{gn}/passes4")
        h0 = g.op("Mul", [b_c, g.const(f"{gn}/one_minus_t", (1 - t).astype(np.float32).reshape(q, 1, 1))], f"{gn}/h0")
        at = g.op("Mul", [a4, g.const(f"{gn}/t", t.astype(np.float32).reshape(q, 1, 1))], f"{gn}/at")
        h = g.op("Add", [at, h0], f"{gn}/h")  # [N, Q, L_n, n]
        prod = g.op("ReduceProd", [h, g.const("axis3", np.array([3]))], f"{gn}/leaf_prod", keepdims=1)
        others = g.op("Div", [prod, h], f"{gn}/others")
        weighted = g.op("Mul", [others, g.const(f"{gn}/w", w.astype(np.float32).reshape(q, 1, 1))], f"{gn}/weighted")
        integral = g.op("ReduceSum", [weighted, g.const("axis1", np.array([1]))], f"{gn}/integral", keepdims=0)
        a3 = g.op("Reshape", [a, g.const(f"{gn}/shape3", np.array([-1, len(leaves), n]))], f"{gn}/passes3")
        gap = g.op("Sub", [a3, b_c], f"{gn}/gap")  # a − b
        value = g.const(f"{gn}/value", p.leaf_value[leaves].astype(np.float32).reshape(-1, 1))
        phi = g.op("Mul", [g.op("Mul", [integral, value], f"{gn}/scaled"), gap], f"{gn}/phi")
        values.append(g.op("Reshape", [phi, g.const(f"{gn}/flat", np.array([-1, width]))], f"{gn}/phi_flat"))
        work += (q * 6 + 4) * width
    phi = g.op("Concat", [*values, g.zeros(np.float32)], "phi", axis=1)  # [N, S + 1], slots in `order`
    phi = g.op("Cast", [phi], "phi_d", to=DOUBLE)  # the sums per player in float64
    key = p.leaf_class[p.slot_leaf[order]] * p.players + p.slot_player[order]
    by_key = [np.flatnonzero(key == k).tolist() for k in range(p.classes * p.players)]
    return g.grouped(phi, s, by_key, "ReduceSum", "players", np.float64), g.items + work


def parts(booster) -> list:
    """`booster` (tree_check.Booster) cut into boosters of whole rounds holding at most PART_LEAVES leaves
    (a round larger than that on its own)."""
    k = booster.num_tree_per_iteration
    cuts, leaves = [0], 0
    for r in range(0, len(booster.trees), k):
        size = sum(t.num_leaves for t in booster.trees[r : r + k])
        if leaves and leaves + size > PART_LEAVES:
            cuts.append(r)
            leaves = 0
        leaves += size
    cuts.append(len(booster.trees))
    return [replace(booster, trees=booster.trees[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]


def build(trained, members: list, op, const) -> tuple[list, dict]:
    """The nodes of the trees' path-dependent attributions (explain_trees_graph.build_terms), each booster
    cut into `parts`; baselines by `expected`."""

    def terms(b, gbm, x32, col_player, name):
        pieces, made = [], {"items": 0, "slots": 0}
        for j, part in enumerate(parts(b.trees)):
            p = paths(part, col_player, player_count(trained))
            if len(p.leaf_value):  # else no split anywhere: nothing to attribute
                out, items = emit(p, x32, op, const, f"{name}/part{j}")
                pieces.append(out)
                made = {"items": made["items"] + items, "slots": made["slots"] + len(p.slot_leaf)}
        return pieces, expected(b.trees), made

    return build_terms(trained, members, op, const, terms)
