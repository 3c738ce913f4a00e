"""A LightGBM model string read and checked in Python, before LightGBM or the ONNX converter sees it.

    trees = read_booster(text, width=layout.n_columns, n_scores=1, max_trees=1000, max_leaves=31,
                         where="gbm.json: booster 'churn'")
    trees.trees[0].left_child ...          # flat numpy arrays per tree (LightGBM's own layout)
    lgb.Booster(model_str=trees.model_string())   # the only text LightGBM's C++ parser is given

`gbm.json` is covered by the manifest's sha256, which proves the folder agrees with itself, not that
a tree is well formed: whoever edits gbm.json can rewrite manifest.json too. LightGBM's parser trusts
its input (a child index pointing back to the root loops forever, a split_feature past the row reads
outside it, a negative leaf index reads the heap). So every tree is checked here, and LightGBM is
given a model string written again from the checked numbers (`model_string`), never the file's text:

- the header: num_tree_per_iteration equal to the booster's score count, max_feature_idx + 1 equal to
  the matrix width, a known objective, no average_output (random forest);
- per tree: 1 ≤ num_leaves ≤ `max_leaves`; split_feature, split_gain, threshold, decision_type,
  left_child and right_child of num_leaves - 1 entries, leaf_value of num_leaves; every child index a
  node or leaf of this tree; every internal node but the root and every leaf exactly one parent, all
  reached from node 0 (so no cycle, and depth ≤ num_leaves - 1); split_feature below the width;
  decision_type a known one; gains, leaf values and shrinkage finite, thresholds numbers (±inf is a
  split LightGBM makes when every value goes one way, NaN never); a categorical
  split's threshold an index into cat_boundaries, which rise from 0 to len(cat_threshold); no linear
  trees; leaf_count and internal_count (the training rows each node received: the covers of the
  path-dependent explanations) non-negative integers when present, kept in the rewritten text;
- at most `max_trees` trees, a whole number of rounds.

Each failure is one TkError naming the tree, the field and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from toolkit.errors import TkError

#: decision_type bits (LightGBM's tree.h): categorical, default left, missing type in bits 2-3.
CATEGORICAL, DEFAULT_LEFT = 1, 2
MISSING_TYPES = ("None", "Zero", "NaN")
#: Objectives tk trains (toolkit.models.gbm.objectives), with LightGBM's "name key:value" parameters.
_OBJECTIVE = re.compile(r"(?:binary|multiclass|multiclassova|regression|huber)(?: [a-z_]+:[-+0-9.eE]{1,30}){0,4}")
_SPLIT_FIELDS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child")


@dataclass(frozen=True)
class Tree:
    """One tree in LightGBM's arrays: internal nodes 0..L-2, a child < 0 is leaf ~child."""

    num_leaves: int
    split_feature: np.ndarray  # int64 [L-1]
    split_gain: np.ndarray  # float64 [L-1]
    threshold: np.ndarray  # float64 [L-1] (a categorical split: its index into cat_boundaries)
    decision_type: np.ndarray  # int64 [L-1]
    left_child: np.ndarray  # int64 [L-1]
    right_child: np.ndarray  # int64 [L-1]
    leaf_value: np.ndarray  # float64 [L]
    cat_boundaries: np.ndarray  # int64 [num_cat + 1] (empty without categorical splits)
    cat_threshold: np.ndarray  # int64 [cat_boundaries[-1]]: uint32 bitsets of the categories going left
    shrinkage: float
    #: Training rows that reached each leaf / internal node (LightGBM's covers), int64 [L] / [L-1];
    #: None when the model string has none (explanations then cannot use the path-dependent game).
    leaf_count: np.ndarray | None = None
    internal_count: np.ndarray | None = None

    def missing_type(self, node: int) -> str:
        return MISSING_TYPES[(int(self.decision_type[node]) >> 2) & 3]

    def categories(self, node: int) -> list[int]:
        """The category ids that go left at categorical split `node`, ascending."""
        k = int(self.threshold[node])
        words = self.cat_threshold[self.cat_boundaries[k] : self.cat_boundaries[k + 1]]
        return [32 * w + bit for w, word in enumerate(words.tolist()) for bit in range(32) if word >> bit & 1]


@dataclass(frozen=True)
class Booster:
    """A checked model string: header values and trees."""

    num_class: int
    num_tree_per_iteration: int
    max_feature_idx: int
    objective: str
    trees: list[Tree]

    def model_string(self) -> str:
        """LightGBM's text format written from the checked values (what lgb.Booster is given)."""
        blocks = [_tree_text(t, i) for i, t in enumerate(self.trees)]
        width = self.max_feature_idx + 1
        head = [
            "tree",
            "version=v4",
            f"num_class={self.num_class}",
            f"num_tree_per_iteration={self.num_tree_per_iteration}",
            "label_index=0",
            f"max_feature_idx={self.max_feature_idx}",
            f"objective={self.objective}",
            "feature_names=" + " ".join(f"Column_{j}" for j in range(width)),
            "feature_infos=" + " ".join(["none"] * width),
            "tree_sizes=" + " ".join(str(len(b.encode())) for b in blocks),
            "",
        ]
        return "\n".join(head) + "\n" + "".join(blocks) + "end of trees\n\npandas_categorical:null\n"


def _numbers(values) -> str:
    return " ".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


def _tree_text(t: Tree, i: int) -> str:
    lines = [
        f"Tree={i}",
        f"num_leaves={t.num_leaves}",
        f"num_cat={max(len(t.cat_boundaries) - 1, 0)}",
        "split_feature=" + _numbers(t.split_feature.tolist()),
        "split_gain=" + _numbers(t.split_gain.tolist()),
        "threshold=" + _numbers(t.threshold.tolist()),
        "decision_type=" + _numbers(t.decision_type.tolist()),
        "left_child=" + _numbers(t.left_child.tolist()),
        "right_child=" + _numbers(t.right_child.tolist()),
        "leaf_value=" + _numbers(t.leaf_value.tolist()),
    ]
    if len(t.cat_boundaries):
        lines += [
            "cat_boundaries=" + _numbers(t.cat_boundaries.tolist()),
            "cat_threshold=" + _numbers(t.cat_threshold.tolist()),
        ]
    if t.leaf_count is not None:
        lines += [
            "leaf_count=" + _numbers(t.leaf_count.tolist()),
            "internal_count=" + _numbers(t.internal_count.tolist()),
        ]
    lines += ["is_linear=0", f"shrinkage={t.shrinkage!r}"]
    return "\n".join(lines) + "\n\n\n"


def read_booster(text, *, width: int, n_scores: int, max_trees: int, max_leaves: int, where: str) -> Booster:
    """`text` (LightGBM's model string) checked against the matrix `width`, the booster's score count and
    the config's limits (see the module docstring); a TkError naming what is wrong otherwise."""
    if not isinstance(text, str):
        raise TkError(f"{where}: the model is {type(text).__name__}, not LightGBM's model string")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "tree":
        raise TkError(f"{where}: not a LightGBM model string (it does not start with 'tree')")
    header, pos = _key_values(lines, 1, stop=("Tree=", "end of trees"), where=where)
    if "average_output" in header:
        raise TkError(f"{where}: random-forest boosters (average_output) are not supported")
    k = _int(header, "num_tree_per_iteration", where)
    if k != n_scores:
        raise TkError(f"{where}: num_tree_per_iteration={k}, but the booster gives {n_scores} score(s) a row")
    num_class = _int(header, "num_class", where)
    if num_class not in (1, k):
        raise TkError(f"{where}: num_class={num_class} does not fit num_tree_per_iteration={k}")
    max_feature = _int(header, "max_feature_idx", where)
    if max_feature + 1 != width:
        raise TkError(f"{where}: max_feature_idx={max_feature}, but the design matrix has {width} columns")
    objective = header.get("objective", "")
    if not _OBJECTIVE.fullmatch(objective):
        raise TkError(f"{where}: objective {objective[:60]!r} is not one tk trains")
    trees = []
    while pos < len(lines) and lines[pos].startswith("Tree="):
        t = len(trees)
        if lines[pos] != f"Tree={t}":
            raise TkError(f"{where}: {lines[pos][:40]!r} where 'Tree={t}' was expected")
        if t >= max_trees:
            raise TkError(f"{where}: more than {max_trees} trees (gbm.num_trees × scores per round)")
        fields, pos = _key_values(lines, pos + 1, stop=("",), where=f"{where}: tree {t}")
        trees.append(_tree(fields, width, max_leaves, f"{where}: tree {t}"))
        while pos < len(lines) and lines[pos] == "":
            pos += 1
    if pos >= len(lines) or lines[pos] != "end of trees":
        shown = lines[pos][:40] if pos < len(lines) else "the end of the text"
        raise TkError(f"{where}: {shown!r} where a tree or 'end of trees' was expected")
    if len(trees) % k:
        raise TkError(f"{where}: {len(trees)} trees is not a whole number of rounds of {k}")
    return Booster(num_class, k, max_feature, objective, trees)


def _key_values(lines: list[str], pos: int, stop: tuple[str, ...], where: str) -> tuple[dict[str, str], int]:
    """key=value lines from `pos` up to a line starting with one of `stop` ("" stops at a blank line)."""
    out: dict[str, str] = {}
    while pos < len(lines):
        line = lines[pos].rstrip("\r")
        if (line == "" and "" in stop) or any(s and line.startswith(s) for s in stop):
            break
        if line:
            key, eq, value = line.partition("=")
            if not eq:
                raise TkError(f"{where}: line {pos + 1} {line[:40]!r} is not key=value")
            if key in out:
                raise TkError(f"{where}: {key!r} appears twice")
            out[key] = value
        pos += 1
    return out, pos


def _int(fields: dict[str, str], key: str, where: str, low: int = 0, high: int = 1 << 31) -> int:
    value = fields.get(key)
    if value is None:
        raise TkError(f"{where}: no {key}")
    try:
        n = int(value)
    except ValueError:
        raise TkError(f"{where}: {key}={value[:40]!r} is not an integer") from None
    if not low <= n < high:
        raise TkError(f"{where}: {key}={n} is out of range [{low}, {high})")
    return n


def _array(fields: dict[str, str], key: str, n: int, kind: type, where: str, infinite_ok: bool = False) -> np.ndarray:
    text = fields.get(key, "")
    parts = text.split(" ") if text else []
    if len(parts) != n:
        raise TkError(f"{where}: {key} has {len(parts)} entries, expected {n}")
    try:
        values = np.array([kind(p) for p in parts], dtype=np.int64 if kind is int else np.float64)
    except (ValueError, OverflowError):
        bad = next((p for p in parts if not _parses(p, kind)), parts[0])
        raise TkError(f"{where}: {key} holds {bad[:40]!r}, not a{'n integer' if kind is int else ' number'}") from None
    bad = (np.isnan(values) if infinite_ok else ~np.isfinite(values)) if kind is float else None
    if bad is not None and bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise TkError(f"{where}: {key}[{j}] = {values[j]} is not {'a number' if infinite_ok else 'finite'}")
    return values


def _parses(p: str, kind: type) -> bool:
    """`p` reads as `kind` (an int within int64)."""
    try:
        value = kind(p)
    except (ValueError, OverflowError):
        return False
    return kind is float or abs(value) < 2**63


def _tree(fields: dict[str, str], width: int, max_leaves: int, where: str) -> Tree:
    leaves = _int(fields, "num_leaves", where, 1, max_leaves + 1)
    if fields.get("is_linear", "0") != "0":
        raise TkError(f"{where}: linear trees (linear_tree) are not supported")
    nodes = leaves - 1
    num_cat = _int(fields, "num_cat", where, 0, nodes + 1)
    # LightGBM writes a numeric split that sends every value one way as threshold ±inf (NaN still follows
    # its missing direction): infinite thresholds are trees it makes; NaN never is
    arrays = {
        key: _array(
            fields,
            key,
            nodes,
            float if key in ("split_gain", "threshold") else int,
            where,
            infinite_ok=key == "threshold",
        )
        for key in _SPLIT_FIELDS
    }
    leaf_value = _array(fields, "leaf_value", leaves, float, where)
    shrinkage = _array(fields, "shrinkage", 1, float, where)[0] if "shrinkage" in fields else 1.0
    if num_cat:
        bounds = _array(fields, "cat_boundaries", num_cat + 1, int, where)
        if bounds[0] != 0 or (np.diff(bounds) < 1).any() or bounds[-1] > 1 << 20:
            raise TkError(f"{where}: cat_boundaries {_numbers(bounds.tolist()[:8])} do not rise from 0")
        cats = _array(fields, "cat_threshold", int(bounds[-1]), int, where)
        if ((cats < 0) | (cats >= 1 << 32)).any():
            raise TkError(f"{where}: cat_threshold holds a value outside 32 bits")
    else:
        bounds = cats = np.zeros(0, np.int64)
    feature, kind = arrays["split_feature"], arrays["decision_type"]
    if ((feature < 0) | (feature >= width)).any():
        j = int(np.flatnonzero((feature < 0) | (feature >= width))[0])
        raise TkError(f"{where}: split_feature[{j}] = {feature[j]} is not a column of the {width}-column matrix")
    known = ((kind & ~(CATEGORICAL | DEFAULT_LEFT | 12)) == 0) & (((kind >> 2) & 3) < 3)
    if not known.all():
        j = int(np.flatnonzero(~known)[0])
        raise TkError(f"{where}: decision_type[{j}] = {kind[j]} is not one LightGBM writes")
    categorical = (kind & CATEGORICAL) != 0
    if categorical.any():
        t = arrays["threshold"][categorical]
        bad = (t != np.floor(t)) | (t < 0) | (t >= num_cat)
        if bad.any():
            j = int(np.flatnonzero(categorical)[np.flatnonzero(bad)[0]])
            raise TkError(
                f"{where}: threshold[{j}] = {arrays['threshold'][j]} of a categorical split is not "
                f"one of its {num_cat} category sets"
            )
    _check_shape(arrays["left_child"], arrays["right_child"], leaves, where)
    counts = _counts(fields, leaves, where)
    return Tree(
        leaves,
        feature,
        arrays["split_gain"],
        arrays["threshold"],
        kind,
        arrays["left_child"],
        arrays["right_child"],
        leaf_value,
        bounds,
        cats,
        float(shrinkage),
        *counts,
    )


def _counts(fields: dict[str, str], leaves: int, where: str) -> tuple:
    """(leaf_count [L], internal_count [L-1]) int64, non-negative; (None, None) unless the tree has both."""
    if "leaf_count" not in fields or "internal_count" not in fields:
        return None, None
    leaf, internal = (
        _array(fields, "leaf_count", leaves, int, where),
        _array(fields, "internal_count", leaves - 1, int, where),
    )
    for key, values in (("leaf_count", leaf), ("internal_count", internal)):
        if (values < 0).any():
            j = int(np.flatnonzero(values < 0)[0])
            raise TkError(f"{where}: {key}[{j}] = {values[j]} is negative")
    return leaf, internal


def _check_shape(left: np.ndarray, right: np.ndarray, leaves: int, where: str) -> None:
    """Every child a node or leaf of this tree; each node but the root and each leaf exactly one parent;
    every node reached from node 0 (a tree, not a graph with cycles or stray parts)."""
    nodes = leaves - 1
    if nodes == 0:
        return
    children = np.concatenate([left, right])
    bad = (children >= nodes) | (children < -leaves)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        side, node = ("left_child", j) if j < nodes else ("right_child", j - nodes)
        raise TkError(
            f"{where}: {side}[{node}] = {children[j]} is not a node (0..{nodes - 1}) or leaf "
            f"(-1..-{leaves}) of this tree"
        )
    internal = children[children >= 0]
    parents = np.bincount(internal, minlength=nodes)
    leaf_parents = np.bincount(~children[children < 0], minlength=leaves)
    if parents[0]:
        raise TkError(f"{where}: node 0 (the root) is the child of another node")
    wrong = np.flatnonzero(parents[1:] != 1)
    if len(wrong):
        j = int(wrong[0]) + 1
        raise TkError(f"{where}: node {j} has {parents[j]} parents, expected 1")
    wrong = np.flatnonzero(leaf_parents != 1)
    if len(wrong):
        j = int(wrong[0])
        raise TkError(f"{where}: leaf {j} has {leaf_parents[j]} parents, expected 1")
    seen, stack = np.zeros(nodes, dtype=bool), [0]
    while stack:  # one parent each and no parent for the root: reaching every node leaves no cycle
        node = stack.pop()
        seen[node] = True
        stack += [c for c in (int(left[node]), int(right[node])) if c >= 0 and not seen[c]]
    if not seen.all():
        raise TkError(f"{where}: node {int(np.flatnonzero(~seen)[0])} is not reached from node 0 (a cycle)")


def check_layout(state, where: str):
    """The design matrix's layout as gbm.json states it (toolkit.models.gbm.matrix.Layout), checked: blocks of
    known types side by side from column 0, each at least one column wide (a categorical one exactly)."""
    from toolkit.features import INPUT_FEATURES
    from toolkit.models.gbm.matrix import Block, Layout, tree_input

    if not isinstance(state, list) or not state:
        raise TkError(f"{where}: 'layout' is not a non-empty list of blocks")
    blocks, start = [], 0
    fields = {"feature": str, "type": str, "dtype": str, "rank": int, "width": int, "start": int}
    for i, b in enumerate(state):
        if not isinstance(b, dict) or set(b) != set(fields) or any(type(b[k]) is not t for k, t in fields.items()):
            raise TkError(f"{where}: layout[{i}] is not a block ({', '.join(fields)})")
        kind = tree_input(b["type"]) if b["type"] in INPUT_FEATURES else None
        if kind is None or b["dtype"] not in ("float32", "int64") or b["rank"] not in (1, 2):
            raise TkError(
                f"{where}: layout[{i}] has type {b['type'][:20]!r}, dtype {b['dtype'][:20]!r}, "
                f"rank {b['rank']}: not one tk writes"
            )
        narrow = b["rank"] == 1 or kind == "categorical"
        if not 1 <= b["width"] <= 1 << 20 or (narrow and b["width"] != 1) or b["start"] != start:
            raise TkError(
                f"{where}: layout[{i}] ({b['feature'][:40]!r}) has width {b['width']} at column "
                f"{b['start']}; expected {'1' if narrow else 'a width ≥ 1'} at column {start}"
            )
        blocks.append(Block(**b))
        start += b["width"]
    return Layout(blocks)
