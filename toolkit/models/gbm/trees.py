"""LightGBM trees → one ai.onnx.ml TreeEnsemble node (opset 5), exactly.

The conversion reads the trees as toolkit.models.gbm.tree_check checked them (LightGBM's arrays, never its
JSON dump, which nests a node per level) and reproduces LightGBM's own decision rules (LightGBM 4.x,
`Tree::NumericalDecision` / `CategoricalDecision`), without recursion:

- numerical split `x <= threshold` → BRANCH_LEQ. The node's NaN routing:
  missing_type "NaN" → `default_left`; missing_type "None" → LightGBM reads NaN
  as 0.0, so NaN goes where 0.0 goes (left iff 0 <= threshold); missing_type
  "Zero" (zero_as_missing) → NaN and |x| <= 1e-35 go to `default_left`: such a
  column is rewritten to NaN where it is zero before the trees (`zero_columns`).
- categorical split "x in {c1, c2, …}" → BRANCH_MEMBER with those ids; NaN and
  values outside the set (negative, unseen) go right, as in LightGBM.
- leaves: `leaf_value` (shrinkage included; the first tree carries the
  boost-from-average bias), target = tree index mod trees per round.

The ensemble runs in float64: the matrix is cast to double, thresholds and leaf
values stay double and the sum is double, as in LightGBM, so the only rounding
is the final cast to float32 (parity ≈ 1e-7 relative).

Shape: X float64 [N, F] → scores float64 [N, K], K = num_tree_per_iteration
(classes for multiclass, else 1).
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from toolkit.errors import TkError
from toolkit.models.gbm.tree_check import CATEGORICAL, DEFAULT_LEFT, Booster, Tree

#: nodes_modes values of TreeEnsemble (ai.onnx.ml opset 5).
BRANCH_LEQ, BRANCH_MEMBER = 0, 6
#: LightGBM's kZeroThreshold: |x| <= this is "zero" for missing_type Zero.
ZERO_THRESHOLD = float(np.float32(1e-35))


class _Arrays:
    """The flat nodes_* and leaf_* lists of one TreeEnsemble node."""

    def __init__(self):
        self.feature, self.mode, self.split, self.missing_true = [], [], [], []
        self.true_id, self.true_leaf, self.false_id, self.false_leaf = [], [], [], []
        self.members: list[float] = []
        self.leaf_target, self.leaf_weight = [], []
        self.roots: list[int] = []

    def leaf(self, value: float, target: int) -> int:
        self.leaf_target.append(target)
        self.leaf_weight.append(float(value))
        return len(self.leaf_weight) - 1

    def node(self) -> int:
        for column, default in (
            (self.feature, 0),
            (self.mode, BRANCH_LEQ),
            (self.split, 0.0),
            (self.missing_true, 0),
            (self.true_id, 0),
            (self.true_leaf, 0),
            (self.false_id, 0),
            (self.false_leaf, 0),
        ):
            column.append(default)
        return len(self.feature) - 1


def _missing_types(booster: Booster) -> dict[int, set[str]]:
    """Column index → the missing_type values of the numerical splits on it."""
    seen: dict[int, set[str]] = {}
    for tree in booster.trees:
        for node in np.flatnonzero((tree.decision_type & CATEGORICAL) == 0).tolist():
            seen.setdefault(int(tree.split_feature[node]), set()).add(tree.missing_type(node))
    return seen


def zero_columns(booster: Booster) -> list[int]:
    """Columns whose splits treat zero as missing (zero_as_missing); see module docstring."""
    out = []
    for col, kinds in sorted(_missing_types(booster).items()):
        if "Zero" in kinds:
            if "NaN" in kinds:
                raise TkError(
                    f"gbm: matrix column {col} has both zero-as-missing and NaN-as-missing "
                    "splits; the ONNX conversion cannot route both"
                )
            out.append(col)
    return out


def _add_split(a: _Arrays, tree: Tree, node: int) -> int:
    i = a.node()
    a.feature[i] = int(tree.split_feature[node])
    if tree.decision_type[node] & CATEGORICAL:
        a.mode[i] = BRANCH_MEMBER
        a.members.extend(float(c) for c in tree.categories(node))
        a.members.append(float("nan"))
        a.missing_true[i] = 0  # NaN → right (LightGBM: not in any category set)
    else:
        t = float(tree.threshold[node])
        a.mode[i], a.split[i] = BRANCH_LEQ, t
        if tree.missing_type(node) == "None":
            a.missing_true[i] = int(0.0 <= t)
        else:  # "NaN" or "Zero": LightGBM's default_left
            a.missing_true[i] = int(bool(tree.decision_type[node] & DEFAULT_LEFT))
    return i


def _add_tree(a: _Arrays, tree: Tree, target: int) -> None:
    """The tree's nodes in pre-order (left subtree first), without recursion: a checked tree may be a
    chain as deep as it has leaves."""
    if tree.num_leaves == 1:  # a tree without a split: one node whose both branches hit the leaf
        i = a.node()
        leaf = a.leaf(tree.leaf_value[0], target)
        a.true_id[i] = a.false_id[i] = leaf
        a.true_leaf[i] = a.false_leaf[i] = 1
        a.roots.append(i)
        return
    a.roots.append(len(a.feature))
    todo = [(0, None, None, None)]  # (LightGBM child index, parent's ids, parent's leaf flags, parent node)
    while todo:
        child, ids, leafs, parent = todo.pop()
        if child < 0:
            ids[parent], leafs[parent] = a.leaf(tree.leaf_value[~child], target), 1
            continue
        i = _add_split(a, tree, child)
        if parent is not None:
            ids[parent], leafs[parent] = i, 0
        todo.append((int(tree.right_child[child]), a.false_id, a.false_leaf, i))
        todo.append((int(tree.left_child[child]), a.true_id, a.true_leaf, i))


def ensemble_onnx(g, x: str, booster: Booster, name: str) -> str:
    """Emit the TreeEnsemble for one checked booster (toolkit.models.gbm.tree_check); `x` float64 [N, F] → [N, K]."""
    k = booster.num_tree_per_iteration
    a = _Arrays()
    for t, tree in enumerate(booster.trees):
        _add_tree(a, tree, t % k)
    if not a.roots:  # no trees at all: a zero score
        _add_tree(
            a,
            Tree(1, *([np.zeros(0, np.int64)] * 6), np.zeros(1), np.zeros(0, np.int64), np.zeros(0, np.int64), 1.0),
            0,
        )
    f64 = np.float64
    attrs = dict(
        n_targets=k,
        aggregate_function=1,
        post_transform=0,
        tree_roots=a.roots,
        nodes_featureids=a.feature,
        nodes_modes=numpy_helper.from_array(np.array(a.mode, np.uint8), "nodes_modes"),
        nodes_splits=numpy_helper.from_array(np.array(a.split, f64), "nodes_splits"),
        nodes_missing_value_tracks_true=a.missing_true,
        nodes_truenodeids=a.true_id,
        nodes_trueleafs=a.true_leaf,
        nodes_falsenodeids=a.false_id,
        nodes_falseleafs=a.false_leaf,
        leaf_targetids=a.leaf_target,
        leaf_weights=numpy_helper.from_array(np.array(a.leaf_weight, f64), "leaf_weights"),
    )
    if a.members:
        attrs["membership_values"] = numpy_helper.from_array(np.array(a.members, f64), "membership_values")
    return g.op("TreeEnsemble", x, name=f"{name}/trees", domain="ai.onnx.ml", **attrs)


def zero_as_missing_onnx(g, x: str, columns: list[int], n_columns: int, name: str) -> str:
    """float64 [N, F] → the same with NaN where a `columns` entry is within ±1e-35 of zero."""
    if not columns:
        return x
    mask = np.zeros(n_columns, dtype=bool)
    mask[columns] = True
    small = g.op(
        "LessOrEqual",
        g.op("Abs", x, name=f"{name}/abs"),
        g.const(np.float64(ZERO_THRESHOLD), name=f"{name}/zero_threshold"),
        name=f"{name}/is_zero",
    )
    hit = g.op("And", small, g.const(mask, name=f"{name}/zero_columns"), name=f"{name}/zero_missing")
    return g.op("Where", hit, g.const(np.float64(np.nan), name=f"{name}/nan"), x, name=f"{name}/zero_to_nan")
