"""LightGBM trees → one ai.onnx.ml TreeEnsemble node (opset 5), exactly.

The conversion reads `booster.dump_model()` and reproduces LightGBM's own
decision rules (LightGBM 4.x, `Tree::NumericalDecision` / `CategoricalDecision`):

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
        for column, default in ((self.feature, 0), (self.mode, BRANCH_LEQ), (self.split, 0.0),
                                (self.missing_true, 0), (self.true_id, 0), (self.true_leaf, 0),
                                (self.false_id, 0), (self.false_leaf, 0)):
            column.append(default)
        return len(self.feature) - 1


def _missing_types(dump: dict) -> dict[int, set[str]]:
    """Column index → the missing_type values of the numerical splits on it."""
    seen: dict[int, set[str]] = {}

    def walk(node: dict) -> None:
        if "leaf_value" in node:
            return
        if node["decision_type"] == "<=":
            seen.setdefault(node["split_feature"], set()).add(node["missing_type"])
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return seen


def zero_columns(dump: dict) -> list[int]:
    """Columns whose splits treat zero as missing (zero_as_missing); see module docstring."""
    out = []
    for col, kinds in sorted(_missing_types(dump).items()):
        if "Zero" in kinds:
            if "NaN" in kinds:
                raise TkError(f"gbm: matrix column {col} has both zero-as-missing and NaN-as-missing "
                              "splits; the ONNX conversion cannot route both")
            out.append(col)
    return out


def _add_split(a: _Arrays, node: dict, where: str) -> int:
    i = a.node()
    a.feature[i] = int(node["split_feature"])
    kind, missing = node["decision_type"], node["missing_type"]
    if kind == "<=":
        t = float(node["threshold"])
        a.mode[i], a.split[i] = BRANCH_LEQ, t
        if missing == "None":
            a.missing_true[i] = int(0.0 <= t)
        elif missing in ("NaN", "Zero"):
            a.missing_true[i] = int(bool(node["default_left"]))
        else:
            raise TkError(f"{where}: unknown missing_type {missing!r}")
    elif kind == "==":
        a.mode[i] = BRANCH_MEMBER
        a.members.extend(float(c) for c in str(node["threshold"]).split("||"))
        a.members.append(float("nan"))
        a.missing_true[i] = 0  # NaN → right (LightGBM: not in any category set)
    else:
        raise TkError(f"{where}: unknown decision_type {kind!r}")
    return i


def _add_tree(a: _Arrays, root: dict, target: int, where: str) -> None:
    if "leaf_value" in root:  # a tree without a split: one node whose both branches hit the leaf
        i = a.node()
        leaf = a.leaf(root["leaf_value"], target)
        a.true_id[i] = a.false_id[i] = leaf
        a.true_leaf[i] = a.false_leaf[i] = 1
        a.roots.append(i)
        return
    a.roots.append(_add_subtree(a, root, target, where))


def _add_subtree(a: _Arrays, node: dict, target: int, where: str) -> int:
    i = _add_split(a, node, where)
    for child, ids, leafs in (("left_child", a.true_id, a.true_leaf), ("right_child", a.false_id, a.false_leaf)):
        sub = node[child]
        if "leaf_value" in sub:
            ids[i], leafs[i] = a.leaf(sub["leaf_value"], target), 1
        else:
            ids[i], leafs[i] = _add_subtree(a, sub, target, where), 0
    return i


def _check(dump: dict, where: str) -> None:
    if dump.get("average_output"):
        raise TkError(f"{where}: random-forest boosters (average_output) are not supported")
    for t in dump["tree_info"]:
        if t.get("is_linear"):
            raise TkError(f"{where}: linear trees (linear_tree) are not supported")


def ensemble_onnx(g, x: str, dump: dict, name: str) -> str:
    """Emit the TreeEnsemble for one booster; `x` float64 [N, F] → float64 [N, K]."""
    where = f"gbm booster {name!r}"
    _check(dump, where)
    k = int(dump["num_tree_per_iteration"])
    a = _Arrays()
    for t, tree in enumerate(dump["tree_info"]):
        _add_tree(a, tree["tree_structure"], t % k, where)
    if not a.roots:  # no trees at all: a zero score
        _add_tree(a, {"leaf_value": 0.0}, 0, where)
    f64 = np.float64
    attrs = dict(
        n_targets=k, aggregate_function=1, post_transform=0, tree_roots=a.roots,
        nodes_featureids=a.feature,
        nodes_modes=numpy_helper.from_array(np.array(a.mode, np.uint8), "nodes_modes"),
        nodes_splits=numpy_helper.from_array(np.array(a.split, f64), "nodes_splits"),
        nodes_missing_value_tracks_true=a.missing_true,
        nodes_truenodeids=a.true_id, nodes_trueleafs=a.true_leaf,
        nodes_falsenodeids=a.false_id, nodes_falseleafs=a.false_leaf,
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
    small = g.op("LessOrEqual", g.op("Abs", x, name=f"{name}/abs"),
                 g.const(np.float64(ZERO_THRESHOLD), name=f"{name}/zero_threshold"), name=f"{name}/is_zero")
    hit = g.op("And", small, g.const(mask, name=f"{name}/zero_columns"), name=f"{name}/zero_missing")
    return g.op("Where", hit, g.const(np.float64(np.nan), name=f"{name}/nan"), x, name=f"{name}/zero_to_nan")


