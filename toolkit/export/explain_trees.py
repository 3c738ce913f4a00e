"""Exact interventional Shapley values of LightGBM trees, inside model.onnx (interventional TreeSHAP).

The game is explain.py's (players: the model's raw columns; v(S) = mean over the background rows z of
f(x_S, z_¬S)), computed in closed form per leaf and (row x, background row z) pair (Laberge &
Pequignot, "Understanding interventional TreeSHAP"). A leaf L of value v_L has a root path whose
split nodes are grouped by player into slots; x passes a slot when it follows every node of it, z
likewise. Fx, Fz: the slots x, z fail. If Fx ∩ Fz ≠ ∅ the leaf gives nothing (no coalition reaches
it); else with U = Fz (x passes, z fails), V = Fx, u = |U|, v = |V|:

    each player of U gets  +v_L · (u−1)! v! / (u+v)!,   each player of V gets  −v_L · u! (v−1)! / (u+v)!

Summed over leaves and averaged over z: the Shapley values, whose sum is f(x) − mean_z f(z) exactly
(per class: a tree's leaves belong to class tree mod K).

Here, in numpy (the graph: toolkit.export.explain_trees_graph):

    paths(booster, column_player, P)   the root paths flattened: split nodes [M], slots [S] (leaf-major,
                                       a leaf's slots contiguous: no padding to the deepest path), leaves [L]
    goes_left(p, X) [N, M], slot_ok(p, left) [N, S]   LightGBM's decision rules as toolkit.models.gbm.trees
                                       converts them (float64 compares, NaN routing, zero as missing,
                                       category sets; unseen, negative and NaN ids go right)
    cases(p, z_ok)                     z's side, known at export: per leaf, the distinct patterns of slots
                                       the background rows fail (G cases ≤ B·L, Q = Σ |Fz_g| slots)
    closed_form(p, x_ok, z_ok) [N, K, P], tree_reference(p, X, Z)   the formula above, pair by pair in
                                       float64: what the parity check at export holds the graph to
    reference(trained, members, pre, bg_pre)   per output, the (weighted) sum over a kind's boosters

A row costs the graph O(S + Q + G) gathered elements and no evaluation of the trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb

import numpy as np

from toolkit.models.gbm.tree_check import CATEGORICAL, DEFAULT_LEFT
from toolkit.models.gbm.trees import ZERO_THRESHOLD, zero_columns


@dataclass
class Paths:
    """One booster's root paths, flattened.

    Nodes (all trees' split nodes) M: feature [M] matrix column, threshold [M] float64 (numerical),
    missing_left [M] bool (where NaN goes), categories [M] (ids going left; None: numerical).
    Slots S (leaf-major: a leaf's slots are contiguous): slot_nodes [S] list of (node, goes_left),
    slot_player [S], slot_leaf [S]. Leaves L (trees without a split left out): leaf_value [L] float64,
    leaf_class [L], leaf_start [L + 1] (the slots of leaf l are leaf_start[l]:leaf_start[l + 1]).
    zero_columns: matrix columns read with zero as missing (toolkit.models.gbm.trees); width: F.
    cover_left, cover_right [M] float64: the share of the node's training rows sent left / right (NaN
    without LightGBM's counts)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    categories: list
    slot_nodes: list
    slot_player: np.ndarray
    slot_leaf: np.ndarray
    leaf_value: np.ndarray
    leaf_class: np.ndarray
    leaf_start: np.ndarray
    zero_columns: list
    classes: int
    players: int
    width: int
    #: [M] float64: the share of the node's training rows that went left / right (LightGBM's counts; NaN
    #: without them): the covers of the path-dependent game (toolkit.export.explain_path)
    cover_left: np.ndarray
    cover_right: np.ndarray

    @cached_property
    def flat_nodes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """slot_nodes flattened: node [T], goes_left [T] bool, start [S] (slot s holds start[s]:start[s + 1])."""
        sizes = np.array([len(nodes) for nodes in self.slot_nodes], np.int64)
        pairs = np.array([pair for nodes in self.slot_nodes for pair in nodes], np.int64).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1].astype(bool), np.r_[0, np.cumsum(sizes)[:-1]]

    @property
    def depth(self) -> int:
        """Slots of the longest path (players on it), at least 1."""
        return max(1, int(np.diff(self.leaf_start).max(initial=0)))


def paths(booster, column_player: np.ndarray, players: int) -> Paths:
    """`booster` (toolkit.models.gbm.tree_check.Booster), `column_player` [F]: the player of each matrix column."""
    feature, threshold, missing_left, categories, covers = [], [], [], [], []
    slot_nodes, slot_player, slot_leaf = [], [], []
    leaf_value, leaf_class, leaf_start = [], [], [0]
    k = booster.num_tree_per_iteration
    for t, tree in enumerate(booster.trees):
        if tree.num_leaves < 2:
            continue  # a constant tree: the same value for x and every z, nothing to attribute
        base = len(feature)
        covers.extend(_covers(tree))
        for node in range(tree.num_leaves - 1):
            feature.append(int(tree.split_feature[node]))
            if tree.decision_type[node] & CATEGORICAL:
                threshold.append(0.0)
                missing_left.append(False)  # NaN and ids outside the set go right
                categories.append(np.array(tree.categories(node), np.int64))
            else:
                thr = float(tree.threshold[node])
                threshold.append(thr)
                if tree.missing_type(node) == "None":  # LightGBM reads NaN as 0.0
                    missing_left.append(0.0 <= thr)
                else:  # "NaN", or "Zero" (the column rewritten to NaN where zero)
                    missing_left.append(bool(tree.decision_type[node] & DEFAULT_LEFT))
                categories.append(None)
        todo = [(0, [])]  # (LightGBM child index, [(node, goes_left)] from the root)
        while todo:
            child, path = todo.pop()
            if child < 0:
                groups: dict[int, list] = {}
                for node, left in path:
                    groups.setdefault(int(column_player[feature[node]]), []).append((node, left))
                for player, nodes in sorted(groups.items()):
                    slot_nodes.append(nodes)
                    slot_player.append(player)
                    slot_leaf.append(len(leaf_value))
                leaf_value.append(float(tree.leaf_value[~child]))
                leaf_class.append(t % k)
                leaf_start.append(len(slot_nodes))
                continue
            todo.append((int(tree.right_child[child]), path + [(base + child, False)]))
            todo.append((int(tree.left_child[child]), path + [(base + child, True)]))
    return Paths(
        np.array(feature, np.int64),
        np.array(threshold, np.float64),
        np.array(missing_left, bool),
        categories,
        slot_nodes,
        np.array(slot_player, np.int64),
        np.array(slot_leaf, np.int64),
        np.array(leaf_value, np.float64),
        np.array(leaf_class, np.int64),
        np.array(leaf_start, np.int64),
        zero_columns(booster),
        k,
        players,
        booster.max_feature_idx + 1,
        np.array([c[0] for c in covers], np.float64).reshape(-1),
        np.array([c[1] for c in covers], np.float64).reshape(-1),
    )


def _covers(tree) -> list[tuple[float, float]]:
    """Per split node (left share, right share) of its training rows; NaN without counts or rows."""
    if tree.leaf_count is None:
        return [(np.nan, np.nan)] * (tree.num_leaves - 1)

    def count(child: int) -> float:
        return float(tree.internal_count[child] if child >= 0 else tree.leaf_count[~child])

    out = []
    for node in range(tree.num_leaves - 1):
        total = float(tree.internal_count[node])
        left, right = count(int(tree.left_child[node])), count(int(tree.right_child[node]))
        out.append((left / total, right / total) if total > 0 else (np.nan, np.nan))
    return out


# ---- numpy: decisions and the closed form ------------------------------------------------------------


def goes_left(p: Paths, x: np.ndarray) -> np.ndarray:
    """x float32 [N, F] (the trees' matrix) → bool [N, M]: each split node sends the row left, by LightGBM's
    rules as toolkit.models.gbm.trees converts them (compared in float64, NaN routing, zero as missing,
    category sets)."""
    x = np.asarray(x, np.float32).astype(np.float64)
    if p.zero_columns:
        z = np.zeros(x.shape[1], bool)
        z[p.zero_columns] = True
        x = np.where((np.abs(x) <= ZERO_THRESHOLD) & z, np.nan, x)
    g = x[:, p.feature]
    with np.errstate(invalid="ignore"):
        left = np.where(np.isnan(g), p.missing_left, g <= p.threshold)
    for m, cats in enumerate(p.categories):
        if cats is not None:
            left[:, m] = np.isin(g[:, m], cats.astype(np.float64))  # NaN, negatives, unseen: right
    return left


def slot_ok(p: Paths, left: np.ndarray) -> np.ndarray:
    """bool [N, S]: the row follows every node of the slot."""
    if not len(p.slot_nodes):
        return np.ones((len(left), 0), bool)
    node, want, start = p.flat_nodes
    return ~np.logical_or.reduceat(left[:, node] != want, start, axis=1)


def weight_tables(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """W⁺, W⁻ float64 [(D+1)²] at u·(D+1) + v: (u−1)! v! / (u+v)! (0 for u = 0), u! (v−1)! / (u+v)! (0 for v = 0)."""
    plus, minus = np.zeros((depth + 1) ** 2), np.zeros((depth + 1) ** 2)
    for u in range(depth + 1):
        for v in range(depth + 1):
            if u:
                plus[u * (depth + 1) + v] = 1.0 / (u * comb(u + v, u))
            if v:
                minus[u * (depth + 1) + v] = 1.0 / (v * comb(u + v, v))
    return plus, minus


def closed_form(p: Paths, x_ok: np.ndarray, z_ok: np.ndarray) -> np.ndarray:
    """x_ok bool [N, S], z_ok bool [B, S] → float64 [N, K, P]: the Shapley values, leaf by leaf and pair by pair."""
    n = len(x_ok)
    out = np.zeros((n, p.classes, p.players))
    if not len(p.slot_leaf):
        return out
    starts = p.leaf_start[:-1]
    xo, zo = x_ok[:, None, :], z_ok[None, :, :]
    u = np.add.reduceat(xo & ~zo, starts, axis=2)  # [N, B, L]
    v = np.add.reduceat(~xo & zo, starts, axis=2)
    dead = np.add.reduceat(~xo & ~zo, starts, axis=2) > 0
    fact = np.array([float(np.prod(np.arange(1, k + 1, dtype=np.float64))) for k in range(2 * p.depth + 2)])
    total = fact[u + v]
    plus = np.where((u > 0) & ~dead, fact[np.maximum(u - 1, 0)] * fact[v] / total, 0.0) * p.leaf_value
    minus = np.where((v > 0) & ~dead, fact[u] * fact[np.maximum(v - 1, 0)] / total, 0.0) * p.leaf_value
    per_slot = (xo & ~zo) * plus[:, :, p.slot_leaf] - (~xo & zo) * minus[:, :, p.slot_leaf]  # [N, B, S]
    flat = out.reshape(n, -1)  # [N, K·P], a view of out
    np.add.at(flat, (slice(None), p.leaf_class[p.slot_leaf] * p.players + p.slot_player), per_slot.mean(axis=1))
    return out


def tree_reference(p: Paths, x: np.ndarray, z: np.ndarray, elements: int = 4_000_000) -> np.ndarray:
    """x float32 [N, F], z float32 [B, F] (background matrix) → float64 [N, K, P], in chunks of rows whose
    [rows, B, S] arrays hold about `elements` values."""
    z_ok = slot_ok(p, goes_left(p, z))
    chunk = max(1, elements // max(1, len(z) * len(p.slot_leaf)))
    parts = [closed_form(p, slot_ok(p, goes_left(p, x[i : i + chunk])), z_ok) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, p.classes, p.players))


# ---- the graph -------------------------------------------------------------------------------------


@dataclass
class Cases:
    """z's side, known at export: per leaf, the distinct patterns of slots the background rows fail.

    case_leaf [G], case_u [G] (|Fz_g|), case_weight [G] float64 (v_L · c_g / B), leaf_cases [L + 1]
    (the cases of leaf l are leaf_cases[l]:leaf_cases[l + 1]), q_slot [Q] / case_q [G + 1]: the slots
    of Fz_g are q_slot[case_q[g]:case_q[g + 1]]."""

    case_leaf: np.ndarray
    case_u: np.ndarray
    case_weight: np.ndarray
    leaf_cases: np.ndarray
    q_slot: np.ndarray
    case_q: np.ndarray

    @property
    def size(self) -> int:
        return len(self.case_leaf)


def cases(p: Paths, z_ok: np.ndarray) -> Cases:
    """z_ok bool [B, S] → the cases (see Cases)."""
    b = len(z_ok)
    case_leaf, case_u, weight, leaf_cases, q_slot, case_q = [], [], [], [0], [], [0]
    for leaf in range(len(p.leaf_value)):
        a, e = int(p.leaf_start[leaf]), int(p.leaf_start[leaf + 1])
        seen: dict[tuple, int] = {}
        for row in range(b):
            failed = tuple(a + np.flatnonzero(~z_ok[row, a:e]))
            seen[failed] = seen.get(failed, 0) + 1
        for failed, count in seen.items():
            case_leaf.append(leaf)
            case_u.append(len(failed))
            weight.append(p.leaf_value[leaf] * count / b)
            q_slot.extend(failed)
            case_q.append(len(q_slot))
        leaf_cases.append(len(case_leaf))
    return Cases(
        np.array(case_leaf, np.int64),
        np.array(case_u, np.int64),
        np.array(weight, np.float64),
        np.array(leaf_cases, np.int64),
        np.array(q_slot, np.int64),
        np.array(case_q, np.int64),
    )


# ---- the file's explain branch and the parity reference, per model ------------------------------------


def column_players(trained, gbm) -> np.ndarray:
    """int64 [F]: the player (explain.players) of each column of `gbm`'s matrix."""
    from toolkit.export.explain_sampled import players

    of = {trained.inputs[i].config.name: j for j, (_, idx) in enumerate(players(trained)) for i in idx}
    return np.array([of[b.feature] for b in gbm.layout_.blocks for _ in range(b.width)], np.int64)


def matched(trained, gbm) -> list:
    """gbm's boosters in the order of trained.outputs."""
    by_name = {b.name: b for b in gbm.boosters_}
    return [by_name[o.config.name] for o in trained.outputs]


def slot_count(trained, members: list) -> int:
    """Path slots of every tree of `members` [(weight, GbmModel)]: what the exact method's constants
    and work per row grow with."""
    from toolkit.export.explain_sampled import players

    n_players = len(players(trained))
    total = 0
    for _, gbm in members:
        col_player = column_players(trained, gbm)
        total += sum(len(paths(b.trees, col_player, n_players).slot_leaf) for b in matched(trained, gbm))
    return total


def reference(trained, members: list, pre: dict[str, np.ndarray], bg_pre: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per output in trained.outputs' order: float64 [N, P] (one score) or [N, C, P], the raw score's
    interventional Shapley values by the plain closed form (`closed_form`)."""
    return reference_terms(trained, members, pre, lambda gbm, p, x: tree_reference(p, x, gbm.layout_.matrix(bg_pre)))


def reference_terms(trained, members: list, pre: dict[str, np.ndarray], values) -> list[np.ndarray]:
    """What both tree games' references share: per member and booster, `values(gbm, paths, x)` float64
    [N, K, P] on the trees' matrix x of `pre`, times the member's weight, summed per output; returned as
    float64 [N, P] (one score) or [N, C, P] per output in trained.outputs' order."""
    from toolkit.export.explain_sampled import players

    n_players = len(players(trained))
    n = len(next(iter(pre.values())))
    total = [None for _ in trained.outputs]
    for weight, gbm in members:
        col_player = column_players(trained, gbm)
        x = gbm.layout_.matrix(pre)
        for i, b in enumerate(matched(trained, gbm)):
            p = paths(b.trees, col_player, n_players)
            att = weight * values(gbm, p, x) if len(p.leaf_value) else np.zeros((n, b.n_scores, n_players))
            total[i] = att if total[i] is None else total[i] + att
    return [t[:, 0, :] if t.shape[1] == 1 else t for t in total]
