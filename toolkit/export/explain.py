"""Why this prediction: Shapley attributions per row and input, computed inside model.onnx.

    raw columns ─► pre graph ─► <feature>::pre ─► core ─► <output>::raw ─► post ─► labels …
                                      │
      tk::explain (bool, default false) ─► If ─► then: attributions [N, P] per output (below)

Players are the model's raw columns (an input feature, or the features that read one column, such
as an ensemble's number and its `__raw` twin). f is the core's raw score. The kind splits its core
into terms (ModelKind.explain_split), each explained by one method, their attributions added; which
game the trees play is `exact_split`'s choice:

- model_type gbm (trees that are the whole core): path-dependent TreeSHAP, v(S) = the trees' own
  estimate of E[f | x_S] through their training counts: the game of LightGBM's pred_contrib and of
  shap's default TreeExplainer, computed exactly per leaf (toolkit.export.explain_path); no background
  rows, O(slots · depth / 2) values a row. Baseline: the trees' mean score over their training rows.
- every other kind plays the interventional game of shap's Kernel and Permutation explainers:
  v(S) = mean over the 16 background rows z (baked into the file) of f(x_S, z_¬S). Baseline: the mean
  score of the background rows.
  - an ensemble's trees (times their blend weight): exact, by the closed form of interventional
    TreeSHAP per leaf and background case (toolkit.export.explain_trees, the graph in
    explain_trees_graph). Its constants grow with the forest (about 60 bytes a path slot); a forest of
    more than EXACT_MAX_SLOTS slots is explained by the sampled method with the rest instead.
  - the rest (model_type nn; an ensemble's network and text member): sampled. Each row's pre tensors
    tiled E times, each copy taking every input either from the row or from a background row (masks
    baked in the file), a copy of that core (sharing its weights) on N·E rows, a MatMul with constant
    Shapley weights [E, P]. Few players: every coalition (exact); many: antithetic permutations (each
    permutation and its reverse) fixed by a seed, each pair with one background row.

The promise, for every row and kind, exactly up to float32 rounding whatever the method:
    sum over players of attributions = score(row) − baseline score
where score is the raw score of tk's decoders — the log-odds for a binary output, the logit of the
top class for a category or set output, the value (in its own units) for a number output (metadata
`tk.explain`: "baseline"; "method" says "trees", "exact", "permutations" or "trees + …", "tree_game"
"path_dependent" or "interventional").

The explain branch runs only in a session made from the file with its switch on: onnxruntime runs
every node of a graph whatever outputs are asked for, so the If node on the constant `tk::explain`
(false in the file) is what keeps plain predictions as cheap as before; their attribution outputs are
empty ([0, P]). An explaining session turns the constant's bytes on in a copy of the file (`switch`;
toolkit.runtime.explanations.switched, exporters/web_page/explain.js, predict.js): onnxruntime's
JavaScript API cannot feed an input that has a default, and an input with a default makes every
runtime warn at load.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from toolkit.errors import TkError
from toolkit.export import explain_path, explain_trees, explain_trees_graph
from toolkit.export.explain_sampled import (  # noqa: F401  (this module's names too)
    BUDGET,
    MIN_PAIRS,
    PREFIX,
    Plan,
    plan,
    players,
    sampled,
    tiled_pre,
)
from toolkit.runtime.explanations import CHUNK_EVALUATIONS, EXPLAIN_SWITCH, METADATA  # noqa: F401

#: Background rows baked into the file.
BACKGROUND_ROWS = 16
SEED = 0
#: Path slots (a leaf's distinct players on its path) of an ensemble's trees at most for the exact
#: interventional method, whose constants grow with slots × background cases: churn's 166 trees hold 28k
#: (+1.1 MB in model.onnx), 1,000 rounds of concrete 151k (+9.5 MB, +25 s export), leaf_id_flavia's
#: 9,056 trees 539k (+34 MB, +60 s, 1.8 GB while exporting). model_type gbm's path-dependent method
#: keeps one cover and one value per slot and needs no cap.
EXACT_MAX_SLOTS = 65_536


def exact_split(trained, exporter: str | None) -> tuple[list, tuple | None, str]:
    """ModelKind.explain_split and the trees' game: (members, rest, game).

    - Trees that are the whole core (model_type gbm) with their training counts: "path_dependent", the
      game of LightGBM's pred_contrib and shap's default TreeExplainer (toolkit.export.explain_path).
    - Trees that are one term of several (an ensemble): "interventional", the game of the other terms, so
      that the file plays one game (toolkit.export.explain_trees); unless they hold more than
      EXACT_MAX_SLOTS path slots: then ([], (None, the whole core), "sampled"), every term sampled.

    The file's export and the parity reference both call this, so they agree."""
    members, rest = trained.kind.explain_split(trained, exporter)
    if not members:
        return members, rest, "sampled"
    if rest is None and explain_path.covered(trained, members):
        return members, rest, "path_dependent"
    if explain_trees.slot_count(trained, members) > EXACT_MAX_SLOTS:
        return [], (None, trained.model), "sampled"
    return members, rest, "interventional"


def attributions_name(output_name: str) -> str:
    return f"{output_name}::attributions"


def class_attributions_name(output_name: str) -> str:
    return f"{output_name}::class_attributions"


# ---- background rows -------------------------------------------------------------------------------


def background_columns(columns: dict[str, np.ndarray] | None, rows: int = BACKGROUND_ROWS, seed: int = SEED):
    """{column: [rows]} drawn from `columns`, each column on its own, so that no whole row of the data is
    kept (model.onnx may be published on a web page); None without data."""
    if not columns:
        return None
    n = len(next(iter(columns.values())))
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    return {c: np.asarray(v)[rng.choice(n, size=rows, replace=n < rows)] for c, v in columns.items()}


def missing_columns(trained) -> dict[str, np.ndarray]:
    """One row, every column missing: the baseline when no background rows are known (an older model dir
    re-exported without --dataset)."""
    from toolkit.data.raw_types import RAW_FLOAT

    return {
        c: (np.full(1, np.nan, np.float32) if t == RAW_FLOAT else np.full(1, "", object))
        for c, t in trained.preprocessor.columns.items()
    }


def background_json(columns: dict[str, np.ndarray]) -> bytes:
    """explain.json of the model directory: the background rows, NaN as null."""
    out = {}
    for c, v in columns.items():
        v = np.asarray(v)
        if v.dtype.kind == "f":
            out[c] = {"dtype": "float32", "values": [None if np.isnan(x) else float(x) for x in v.tolist()]}
        else:
            out[c] = {"dtype": "string", "values": [str(x) for x in v.tolist()]}
    return json.dumps({"version": 1, "background": out}).encode()


def background_from_json(data: bytes, where: str) -> dict[str, np.ndarray]:
    try:
        cols = json.loads(data)["background"]
        return {
            c: (
                np.array([np.nan if x is None else x for x in d["values"]], np.float32)
                if d["dtype"] == "float32"
                else np.array(d["values"], dtype=object)
            )
            for c, d in cols.items()
        }
    except (ValueError, KeyError, TypeError) as e:
        raise TkError(f"{where}: damaged: {e}") from None


# ---- the reference: the same game computed by the training path -------------------------------------


def reference(
    trained, columns: dict[str, np.ndarray], background: dict[str, np.ndarray] | None, budget: int = BUDGET
) -> dict[str, np.ndarray]:
    """{`<output>::attributions` [N, P], `<output>::class_attributions` [N, C, P]} by the training path
    (pre graph in onnxruntime, the core in torch / LightGBM, the weights in numpy float64; trees by the
    closed form in numpy): what the file's explain branch must give (parity.py)."""
    import torch

    from toolkit.training.batches import predict_raw

    background = background or missing_columns(trained)
    members, rest, game = exact_split(trained, None)
    p = None if rest is None else plan(len(players(trained)), len(next(iter(background.values()))), budget)
    bg = trained.preprocessor.transform(background)
    n = len(next(iter(columns.values())))
    step = max(1, CHUNK_EVALUATIONS // (p.evaluations if p else 64))
    parts = []
    for start in range(0, n, step):
        pre = trained.preprocessor.transform({c: v[start : start + step] for c, v in columns.items()})
        m = len(next(iter(pre.values())))

        def as_torch(arrays):
            return [torch.from_numpy(np.ascontiguousarray(arrays[f.config.name])) for f in trained.inputs]

        own_raw = predict_raw(trained.model, as_torch(pre))
        if game == "path_dependent":
            raws = explain_path.reference(trained, members, pre)
        elif members:
            raws = explain_trees.reference(trained, members, pre, bg)
        else:
            raws = [0.0 for _ in trained.outputs]
        if rest is not None:
            tiled = predict_raw(rest[1], as_torch(tiled_pre(pre, bg, trained, p)))
            w = p.weights.astype(np.float64)
            raws = [
                total
                + (
                    np.asarray(r, np.float64).reshape(m, -1) @ w
                    if np.ndim(r) == 1
                    else np.einsum("nec,ep->ncp", np.asarray(r, np.float64).reshape(m, p.evaluations, -1), w)
                )
                for total, r in zip(raws, tiled)
            ]
        part = {}
        for o, att, own in zip(trained.outputs, raws, own_raw):
            name = o.config.name
            if att.ndim == 2:
                part[attributions_name(name)] = att * _scale(o)
            else:
                top = np.argmax(o.predict(np.asarray(own))["probabilities"], axis=1)
                part[class_attributions_name(name)] = att
                part[attributions_name(name)] = att[np.arange(m), top]
        parts.append(part)
    return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}


def _scale(output) -> float:
    """Raw score differences → explained score differences (OutputFeature.explain_score is linear)."""
    return float(output.explain_score(1.0) - output.explain_score(0.0))


def switch(on: bool) -> TensorProto:
    """The `tk::explain` initializer, the If's condition: false in the file. An explaining session is made
    from a copy of the bytes with this tensor's serialized bytes (in the metadata: "switch") turned from off
    to on: the same length, found exactly once (toolkit.runtime.explanations.switched)."""
    return numpy_helper.from_array(np.array(on), EXPLAIN_SWITCH)


# ---- the graph -------------------------------------------------------------------------------------


def add_explain(
    full: onnx.ModelProto,
    trained,
    core: onnx.ModelProto,
    model_prefix: str,
    background_cols: dict[str, np.ndarray] | None,
    budget: int = BUDGET,
    exporter: str = "torchscript",
) -> dict:
    """Add the explain branch to `full` (in place): input `tk::explain`, outputs `<output>::attributions`
    [N, P] (and `::class_attributions` [N, C, P] for class outputs). Returns the `tk.explain` metadata.
    The kind splits its core (ModelKind.explain_split): trees exactly, the rest by the sampled method."""
    groups = players(trained)
    source = "missing values" if background_cols is None else "rows"
    if background_cols is None:
        background_cols = missing_columns(trained)
    bg_pre = trained.preprocessor.transform(background_cols)
    k = len(next(iter(bg_pre.values())))
    nodes: list[onnx.NodeProto] = []
    inits: list[TensorProto] = []

    made: set[str] = set()

    def const(name: str, value: np.ndarray) -> str:
        if PREFIX + name not in made:  # the same name: the same value
            made.add(PREFIX + name)
            inits.append(numpy_helper.from_array(np.asarray(value), PREFIX + name))
        return PREFIX + name

    def op(op_type: str, inputs: list[str], name: str, outputs: int = 1, **attrs):
        out = [PREFIX + name] if outputs == 1 else [f"{PREFIX}{name}:{i}" for i in range(outputs)]
        nodes.append(helper.make_node(op_type, inputs, out, name=PREFIX + name, **attrs))
        return out[0] if outputs == 1 else out

    members, rest, game = exact_split(trained, exporter)
    method = {"method": "", "evaluations": 0, "permutations": 0}
    per_output = [(None, 0.0) for _ in trained.outputs]
    if members:  # trees: exact, in closed form
        if game == "path_dependent":
            per_output, sizes = explain_path.build(trained, members, op, const)
        else:
            per_output, sizes = explain_trees_graph.build(trained, members, bg_pre, op, const)
        evaluations = max(1, -(-sizes["items"] // explain_trees_graph.ITEMS_PER_EVALUATION))
        method = {"method": "trees", "evaluations": evaluations, "permutations": 0, "tree_game": game}
        method |= {"tree_slots": sizes["slots"]} | ({"tree_cases": sizes["cases"]} if "cases" in sizes else {})
    if rest is not None:  # the other terms: the sampled method on a copy of their core
        rest_core = core if rest[0] is None else rest[0]
        sampled_out, info = sampled(
            trained, rest_core, rest[1], model_prefix, full, groups, bg_pre, budget, op, const, nodes
        )
        per_output = [
            (b_att if t_att is None else op("Add", [t_att, b_att], f"{o.config.name}/trees_and_rest"), t_base + b_base)
            for o, (t_att, t_base), (b_att, b_base) in zip(trained.outputs, per_output, sampled_out)
        ]
        method = (
            method
            | info
            | {
                "method": f"trees + {info['method']}" if members else info["method"],
                "evaluations": method["evaluations"] + info["evaluations"],
            }
        )
    outputs, then_outs, else_nodes, else_outs = [], [], [], []
    baseline = {}
    n_players = len(groups)
    axis1 = const("axis1", np.array([1], np.int64))
    for o, (att, base) in zip(trained.outputs, per_output):
        name = o.config.name
        if np.ndim(base) == 0:
            scale = _scale(o)
            if scale != 1.0:
                att = op("Mul", [att, const(f"{name}/scale", np.float32(scale))], f"{name}/units")
            pairs = [(attributions_name(name), att, [0, n_players])]
            baseline[name] = float(o.explain_score(base))
        else:
            c = len(base)
            per_class = att
            top = op("ArgMax", [f"{name}::probabilities"], f"{name}/top", axis=1, keepdims=1)
            hot = op("Equal", [top, const(f"{name}/classes", np.arange(c, dtype=np.int64))], f"{name}/is_top")
            hotf = op("Cast", [hot], f"{name}/is_top_f", to=TensorProto.FLOAT)
            hot3 = op("Unsqueeze", [hotf, const(f"{name}/axis2", np.array([2], np.int64))], f"{name}/is_top_3")
            picked = op("Mul", [per_class, hot3], f"{name}/picked")
            att = op("ReduceSum", [picked, axis1], f"{name}/top_class", keepdims=0)
            baseline[name] = [float(v) for v in o.explain_score(np.asarray(base, np.float64))]
            pairs = [
                (attributions_name(name), att, [0, n_players]),
                (class_attributions_name(name), per_class, [0, c, n_players]),
            ]
        for out_name, value, empty_shape in pairs:
            nodes.append(
                helper.make_node("Identity", [value], [PREFIX + "out/" + out_name], name=PREFIX + "out/" + out_name)
            )
            shape = [None] + empty_shape[1:]
            then_outs.append(helper.make_tensor_value_info(PREFIX + "out/" + out_name, TensorProto.FLOAT, shape))
            else_nodes.append(
                helper.make_node(
                    "Constant",
                    [],
                    ["none/" + out_name],
                    name="none/" + out_name,
                    value=numpy_helper.from_array(np.zeros(empty_shape, np.float32), "none/" + out_name),
                )
            )
            else_outs.append(helper.make_tensor_value_info("none/" + out_name, TensorProto.FLOAT, shape))
            outputs.append((out_name, shape))
    then_graph = helper.make_graph(nodes, "tk_explain", [], then_outs)
    else_graph = helper.make_graph(else_nodes, "tk_no_explain", [], else_outs)
    g = full.graph
    g.initializer.extend(inits)
    g.initializer.append(switch(False))
    g.node.append(
        helper.make_node(
            "If",
            [EXPLAIN_SWITCH],
            [n for n, _ in outputs],
            name="explain",
            then_branch=then_graph,
            else_branch=else_graph,
        )
    )
    for out_name, shape in outputs:
        g.output.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, shape))
    read_background = rest is not None or game == "interventional"  # else nothing of them is in the file
    return {
        "players": [n for n, _ in groups],
        **method,
        "baseline": baseline,
        "background_rows": k if read_background else 0,
        "background": source if read_background else "the trees' training counts",
        "switch": {"off": switch(False).SerializeToString().hex(), "on": switch(True).SerializeToString().hex()},
    }
