"""The sampled method of toolkit.export.explain: Shapley values of any core by batched evaluations of a copy of it.

    p = plan(players, backgrounds)   # which coalitions × background rows, and their Shapley weights [E, P]
    tiled_pre(pre, background, trained, p)   # {feature: [N·E, …]}: each row's pre tensors tiled as planned
    sampled(...)                     # the nodes in the explain branch: tiled pre tensors → a copy of the
                                     # core → scores [N, E] → MatMul with the weights → [N, P]

Few players: every coalition with every background row (exact Shapley values of the interventional game);
many: antithetic permutations (each permutation and its reverse), fixed by a seed, each pair with one
background row. Either way the attributions add up to score(x) − the baseline exactly (each permutation
telescopes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from toolkit.errors import TkError
from toolkit.features.pregraph import pre_name
from toolkit.models.base import raw_name

PREFIX = "explain/"
#: Core evaluations per explained row at most (coalitions × background rows), before deduplication.
BUDGET = 512
#: Antithetic pairs of permutations at least, whatever the budget (many inputs: E ≈ 2 · MIN_PAIRS · P).
MIN_PAIRS = 4
SEED = 0


# ---- players --------------------------------------------------------------------------------------


def players(trained) -> list[tuple[str, list[int]]]:
    """[(name, [input feature indices])]: one player per raw column, in the order the columns are first read.
    Named by the config's input feature on that column when exactly one reads it, else by the column."""
    config_names = {fc.name for fc in trained.config.input_features}
    by_column: dict[str, list[int]] = {}
    for i, f in enumerate(trained.inputs):
        by_column.setdefault(f.config.source, []).append(i)
    out = []
    for column, idx in by_column.items():
        own = [trained.inputs[i].config.name for i in idx if trained.inputs[i].config.name in config_names]
        out.append((own[0] if len(own) == 1 else column, idx))
    return out


# ---- the plan: coalitions, background rows, weights ------------------------------------------------


@dataclass
class Plan:
    """Which core evaluations to run per row and how to weigh them.

    masks [E, P] bool (True: the player's value from the row), background [E] int64 (which background row
    gives the others), weights [E, P] float32: attributions = scores [N, E] @ weights."""

    masks: np.ndarray
    background: np.ndarray
    weights: np.ndarray
    method: str
    permutations: int = 0

    @property
    def evaluations(self) -> int:
        return len(self.masks)


def _shapley_weight(size: int, players: int) -> float:
    from math import factorial

    return factorial(size) * factorial(players - size - 1) / factorial(players)


def plan(players: int, backgrounds: int, budget: int = BUDGET, seed: int = SEED) -> Plan:
    """Exact when every coalition with every background row fits `budget`, else antithetic permutations."""
    if players < 1 or backgrounds < 1:
        raise TkError(f"explain: {players=} and {backgrounds=} must be ≥ 1")
    index: dict[tuple[bytes, int], int] = {}
    masks, bgs, rows = [], [], []

    def slot(mask: np.ndarray, k: int) -> int:
        key = (mask.tobytes(), 0 if mask.all() else k)  # the whole row reads no background
        if key not in index:
            index[key] = len(masks)
            masks.append(mask.copy())
            bgs.append(key[1])
            rows.append(np.zeros(players, np.float64))
        return index[key]

    if backgrounds * 2**players <= budget:
        full = np.arange(2**players)
        bits = ((full[:, None] >> np.arange(players)[None, :]) & 1).astype(bool)
        for k in range(backgrounds):
            for mask in bits:
                size = int(mask.sum())
                e = slot(mask, k)
                for j in range(players):
                    if mask[j]:
                        rows[e][j] += _shapley_weight(size - 1, players) / backgrounds
                    else:
                        rows[e][j] -= _shapley_weight(size, players) / backgrounds
        method, perms = "exact", 0
    else:
        pairs = max(MIN_PAIRS, budget // (2 * max(players - 1, 1)))
        if pairs >= backgrounds:  # every background row in as many pairs: the baseline is their plain mean
            pairs -= pairs % backgrounds
        perms = 2 * pairs
        rng = np.random.default_rng(seed)
        for m in range(pairs):
            order = rng.permutation(players)
            k = m % backgrounds
            for o in (order, order[::-1]):
                mask = np.zeros(players, bool)
                prev = slot(mask, k)
                for j in o:
                    mask[j] = True
                    cur = slot(mask, k)
                    rows[cur][j] += 1.0 / perms
                    rows[prev][j] -= 1.0 / perms
                    prev = cur
        method = "permutations"
    return Plan(np.array(masks), np.array(bgs, np.int64), np.array(rows, np.float32), method, perms)


def tiled_pre(pre: dict[str, np.ndarray], background: dict[str, np.ndarray], trained, p: Plan):
    """Each row's pre tensors tiled E times as the plan says: {feature: [N·E, …]}."""
    out = {}
    for j, (_, idx) in enumerate(players(trained)):
        for i in idx:
            name = trained.inputs[i].config.name
            x, b = pre[name], background[name][p.background]
            mask = p.masks[:, j].reshape((1, -1) + (1,) * (x.ndim - 1))
            out[name] = np.where(mask, x[:, None], b[None]).reshape((-1,) + x.shape[1:])
    return out


def _baseline(p: Plan, background_scores: np.ndarray) -> np.ndarray:
    """The baseline score(s): the background rows' scores as the plan weighs them (what the attributions of a
    row add up to, subtracted from its score)."""
    empty = ~p.masks.any(axis=1)
    w = -p.weights[empty].sum(axis=1).astype(np.float64)
    return np.tensordot(w, background_scores[p.background[empty]], axes=1)


# ---- the graph ---------------------------------------------------------------------------------------


def _same_tensor(a: TensorProto, b: TensorProto) -> bool:
    x, y = numpy_helper.to_array(a), numpy_helper.to_array(b)
    return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")


def _copy_core(core: onnx.ModelProto, model_prefix: str, full: onnx.ModelProto) -> tuple[list, list]:
    """The core's nodes reading the tiled pre tensors: values renamed under PREFIX, weights shared with the
    full graph's core (under `model_prefix`) where it holds the same tensor, else carried along (a core of
    some of the model's terms, toolkit.models.base.ModelKind.explain_split). Returns (nodes, initializers)."""
    held = {t.name: t for t in full.graph.initializer}
    names, carried = {}, []
    for t in core.graph.initializer:
        same = held.get(model_prefix + t.name)
        if same is not None and _same_tensor(same, t):
            names[t.name] = same.name
        else:
            names[t.name] = PREFIX + "rest/" + t.name
            copy = TensorProto()
            copy.CopyFrom(t)
            copy.name = names[t.name]
            carried.append(copy)

    def rename(name: str) -> str:
        return name if not name else names.get(name, PREFIX + name)

    nodes = []
    for node in core.graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise TkError(
                f"explain: core node {node.name!r} ({node.op_type}) holds a subgraph; explanations cannot copy it"
            )
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = PREFIX + (node.name or f"{node.op_type}_{len(nodes)}")
        del copy.input[:]
        copy.input.extend(rename(n) for n in node.input)
        del copy.output[:]
        copy.output.extend(rename(n) for n in node.output)
        nodes.append(copy)
    return nodes, carried


def sampled(
    trained, core, model, model_prefix: str, full, groups, bg_pre, budget: int, op, const, nodes
) -> tuple[list, dict]:
    """The nodes of the sampled method: the pre tensors tiled as the plan says, a copy of `core` (ONNX; `model`:
    the same called like the network) on them, the plan's weights. Returns ([(attributions: [N, P] or
    [N, C, P], baseline raw score)] per output, metadata)."""
    import torch

    from toolkit.training.batches import predict_raw

    k = len(next(iter(bg_pre.values())))
    p = plan(len(groups), k, budget)
    bg_raw = predict_raw(model, [torch.from_numpy(np.ascontiguousarray(bg_pre[f.config.name])) for f in trained.inputs])
    e = p.evaluations
    bg_index = const("background_index", p.background)
    minus_one = const("minus_one", np.array([-1], np.int64))
    axis1 = const("axis1", np.array([1], np.int64))
    for j, (_, idx) in enumerate(groups):
        for i in idx:
            f = trained.inputs[i]
            x = pre_name(f)
            b = np.ascontiguousarray(bg_pre[f.config.name])
            n = f.config.name
            bsel = op("Gather", [const(f"{n}/background", b), bg_index], f"{n}/background_rows", axis=0)
            mask = const(f"{n}/mask", p.masks[:, j].reshape((e,) + (1,) * (b.ndim - 1)))
            xu = op("Unsqueeze", [x, axis1], f"{n}/row")
            both = op("Where", [mask, xu, bsel], f"{n}/coalitions")
            rest = op("Shape", [x], f"{n}/rest", start=1)
            shape = op("Concat", [minus_one, rest], f"{n}/tiled_shape", axis=0)
            op("Reshape", [both, shape], x)  # the copied core reads PREFIX + `<feature>::pre`
    copied, carried = _copy_core(core, model_prefix, full)
    nodes.extend(copied)
    full.graph.initializer.extend(carried)
    weights = const("weights", p.weights)
    out = []
    for o, braw in zip(trained.outputs, bg_raw):
        name = o.config.name
        raw = PREFIX + raw_name(o)
        braw = np.asarray(braw, np.float64)
        if braw.ndim == 1:
            scores = op("Reshape", [raw, const(f"{name}/shape", np.array([-1, e], np.int64))], f"{name}/scores")
            out.append((op("MatMul", [scores, weights], f"{name}/shapley"), _baseline(p, braw)))
        else:
            c = braw.shape[1]
            scores = op("Reshape", [raw, const(f"{name}/shape", np.array([-1, e, c], np.int64))], f"{name}/scores")
            by_class = op("Transpose", [scores], f"{name}/by_class", perm=[0, 2, 1])
            out.append((op("MatMul", [by_class, weights], f"{name}/shapley"), _baseline(p, braw)))
    meta = {"method": p.method, "evaluations": e, "permutations": p.permutations}
    return out, meta
