"""The trees' exact attributions as ONNX nodes (the closed form of toolkit.export.explain_trees).

Per booster, with N rows (B background rows, whose side is constant; M split nodes; S slots; L leaves;
G cases; Q = Σ |Fz_g|):

    X float32 [N, F] ─► float64, zero as missing ─► node decisions: left, right [N, M]
    x fails slot s         [N, S]  max over the slot's nodes of "went the other way"
    v = slots x fails      [N, L]  sum over the leaf's slots
    live                   [N, G]  x passes every slot of Fz_g: max over Fz_g of "x fails" is 0
    W⁺, W⁻                 [N, G]  from the (u, v) tables at u_g · (D+1) + v(leaf g)
    coef± = live · W± · v_L · c_g / B
    per slot               [N, S]  Σ coef⁺ over the cases whose Fz holds it − x fails · Σ coef⁻ over the leaf's cases
    per (class, player)    [N, K·P] sum over the slots of that player and class, float64

Decisions compare in float64 (as the TreeEnsemble does); a leaf's code (failed slots as bits, then
their count) is float32 while it fits 24 bits, else float64; the cases' coefficients and the sums per
slot (over one leaf's cases) are float32, the sums per player float64.

Every grouped reduction (`_grouped`) gathers its members with GatherElements (index expanded to N rows:
onnxruntime's Gather copies element by element, 8 ns each, GatherElements 1 ns) into groups padded to
the next power of two with a neutral column, then ReduceSum / ReduceMax over the padding axis: no CumSum
(3 ns an element), no dense matrix of the structure, no padding of every leaf to the deepest path.
All ops are in ai.onnx 20 and run alike in onnxruntime, onnxruntime-node and onnxruntime-web.
"""

from __future__ import annotations

import numpy as np

from toolkit.export.explain_trees import Cases, Paths, cases, column_players, goes_left, paths, slot_ok, weight_tables
from toolkit.features.category import MISSING_ID
from toolkit.models.gbm.trees import ZERO_THRESHOLD

#: Gathered elements per row per "core evaluation" of explain.py's chunking (runtime CHUNK_EVALUATIONS).
ITEMS_PER_EVALUATION = 64
FLOAT, DOUBLE, INT64 = 1, 11, 7
#: Low bits of a leaf's code holding v (slots x fails); the bits above: which ones (see `emit`).
COUNT_BITS = 6
#: Slots on a path up to which a leaf's code is exact in float64 (53 bits): one BitwiseAnd tells "live".
MASK_BITS = 53 - COUNT_BITS


class Graph:
    """op / const of explain.py with names under `name`, constants made once, and the helpers below."""

    def __init__(self, op, const, name: str, rows_of: str):
        self._op, self._const, self.name = op, const, name
        self._made: dict[str, str] = {}
        self.items = 0
        self.n = op("Shape", [rows_of], f"{name}/rows", start=0, end=1)  # [1]: N

    def op(self, op_type: str, inputs: list[str], name: str, outputs: int = 1, **attrs):
        """One node; its output's name, or a list of `outputs` names."""
        if outputs == 1:
            return self._op(op_type, inputs, f"{self.name}/{name}", **attrs)
        return self._op(op_type, inputs, f"{self.name}/{name}", outputs=outputs, **attrs)

    def const(self, name: str, value) -> str:
        if name not in self._made:
            self._made[name] = self._const(f"{self.name}/{name}", np.asarray(value))
        return self._made[name]

    def filled(self, name: str, width: int, value: float, dtype) -> str:
        """[N, width] of `value`."""
        shape = self.op(
            "Concat", [self.n, self.const(f"{name}/width", np.array([width], np.int64))], f"{name}/shape", axis=0
        )
        return self.op("ConstantOfShape", [shape], name, value=_tensor(np.full(1, value, dtype)))

    def take(self, data: str, index: np.ndarray, name: str) -> str:
        """data [N, X] → [N, len(index)]: data[:, index] (GatherElements, the index expanded to N rows)."""
        index = np.asarray(index, np.int64).reshape(1, -1)
        self.items += index.size
        if "n_by_1" not in self._made:  # [N, 1]: Expand broadcasts every [1, w] index to [N, w]
            self._made["n_by_1"] = self.op("Concat", [self.n, self.const("one_i", np.array([1]))], "n_by_1", axis=0)
        if index.size and index.max() < 1 << 16:  # half the bytes in the file; the Cast of a constant folds at load
            index = self.op("Cast", [self.const(f"{name}/index", index.astype(np.uint16))], f"{name}/index32", to=6)
        else:
            index = self.const(f"{name}/index", index.astype(np.int32))
        wide = self.op("Expand", [index, self._made["n_by_1"]], f"{name}/index_rows")
        return self.op("GatherElements", [data, wide], name, axis=1)

    def ints(self, name: str, values: np.ndarray, to: int) -> str:
        """Non-negative int constant as ONNX type `to` (INT32 6 or INT64 7), stored in the smallest unsigned
        type that holds it (a Cast of a constant: onnxruntime folds it when the session loads)."""
        values = np.asarray(values)
        for small in (np.uint8, np.uint16):
            if values.size and 0 <= values.min() and values.max() <= np.iinfo(small).max:
                return self.op("Cast", [self.const(name, values.astype(small))], f"{name}_cast", to=to)
        return self.const(name, values.astype(np.int32 if to == 6 else np.int64))

    def zeros(self, dtype) -> str:
        """[N, 1] zeros of `dtype` (one per dtype)."""
        key = np.dtype(dtype).name
        if key not in self._made:
            self._made[key] = self.filled(f"zeros_{key}", 1, 0, dtype)
        return self._made[key]

    def grouped(self, data: str, zero_at: int, groups: list, reduce: str, name: str, dtype, ordered: bool = True):
        """data [N, X] (column `zero_at` holding 0) → [N, len(groups) + 1]: `reduce` (ReduceSum; ReduceMax for
        data ≥ 0) of each group's columns (an empty group gives 0), then a column of 0 (for the next call's
        padding). With `ordered` False the groups come in the order of the buckets: returns (value, where
        [len(groups)]: the column of each group), saving one gather; else the value without the zero column."""
        buckets: dict[int, list[int]] = {}
        for i, g in enumerate(groups):
            buckets.setdefault(_bucket(len(g)), []).append(i)
        indexes, order = [], []
        for size, members in sorted(buckets.items()):  # one gather for all buckets, then split
            index = np.full((len(members), size), zero_at, np.int64)
            for r, i in enumerate(members):
                index[r, : len(groups[i])] = groups[i]
            indexes.append(index.reshape(-1))
            order.extend(members)
        got = self.take(data, np.concatenate(indexes), f"{name}/members")
        if len(indexes) > 1:
            sizes = np.array([len(ix) for ix in indexes], np.int64)
            got = self.op(
                "Split", [got, self.const(f"{name}/bucket_sizes", sizes)], f"{name}/bucket", axis=1, outputs=len(sizes)
            )
        else:
            got = [got]
        parts = []
        for part, (size, members) in zip(got, sorted(buckets.items())):
            if size > 1:
                part = self.op(
                    "Reshape",
                    [part, self.const(f"{name}/{size}/groups_shape", np.array([0, len(members), size]))],
                    f"{name}/{size}/groups",
                )
                part = self.op(reduce, [part, self.const("axis2", np.array([2]))], f"{name}/{size}/reduced", keepdims=0)
            parts.append(part)
        back = np.empty(len(order), np.int64)
        back[np.array(order, np.int64)] = np.arange(len(order))
        if not ordered:
            return self.op("Concat", [*parts, self.zeros(dtype)], f"{name}/buckets", axis=1), back
        out = parts[0] if len(parts) == 1 else self.op("Concat", parts, f"{name}/buckets", axis=1)
        if np.array_equal(back, np.arange(len(back))):
            return out
        return self.take(out, back, f"{name}/ordered")


def _bucket(size: int) -> int:
    """The padded size of a group: 1, 2, 3, 4, 6, 8, 12, 16, 24, … (at most a third of padding)."""
    if size <= 4:
        return max(size, 1)
    top = 1 << (size - 1).bit_length()
    return top * 3 // 4 if size <= top * 3 // 4 else top


def matrix(layout, op, const, name: str) -> str:
    """The trees' matrix float32 [N, F] from the `<feature>::pre` tensors, as toolkit.models.gbm.matrix_onnx
    builds it (category id 0, missing, as NaN)."""
    made: dict[str, str] = {}

    def c(key: str, value) -> str:
        if key not in made:
            made[key] = const(f"{name}/{key}", np.asarray(value))
        return made[key]

    cols = []
    for blk in layout.blocks:
        x = blk.pre
        if blk.dtype != "float32":
            x = op("Cast", [x], f"{name}/{blk.feature}/float", to=FLOAT)
        if blk.categorical:
            missing = op("Equal", [x, c("missing_id", np.float32(MISSING_ID))], f"{name}/{blk.feature}/is_missing")
            x = op("Where", [missing, c("nan", np.float32(np.nan)), x], f"{name}/{blk.feature}/missing")
        if blk.rank == 1:
            x = op("Unsqueeze", [x, c("axis1", np.array([1], np.int64))], f"{name}/{blk.feature}/column")
        cols.append(x)
    return cols[0] if len(cols) == 1 else op("Concat", cols, f"{name}/matrix", axis=1)


def decisions(g: Graph, p: Paths, x32: str) -> tuple[str, np.ndarray]:
    """X float32 [N, F] → ([N, 2M + 1] float32: went left, then went right, per node in the order `pos`, then 0),
    pos [M]."""
    x = g.op("Cast", [x32], "double", to=DOUBLE)  # thresholds compared in float64, as the TreeEnsemble does
    if p.zero_columns:
        mask = np.zeros(p.width, bool)
        mask[p.zero_columns] = True
        small = g.op("LessOrEqual", [g.op("Abs", [x], "abs"), g.const("zero", np.float64(ZERO_THRESHOLD))], "small")
        hit = g.op("And", [small, g.const("zero_columns", mask)], "zero_missing")
        x = g.op("Where", [hit, g.const("nan", np.float64(np.nan)), x], "zero_to_nan")
    numerical = [j for j, cats in enumerate(p.categories) if cats is None]
    categorical = [j for j, cats in enumerate(p.categories) if cats is not None]
    parts = []
    if numerical:
        values = g.op("Gather", [x, g.ints("num_feature", p.feature[numerical], INT64)], "num_values", axis=1)
        le = g.op("LessOrEqual", [values, g.const("threshold", p.threshold[numerical])], "num_le")
        nan = g.op("IsNaN", [values], "num_nan")
        nan_left = g.op("And", [nan, g.const("missing_left", p.missing_left[numerical])], "num_nan_left")
        parts.append(g.op("Or", [le, nan_left], "num_left"))  # NaN compares false
    if categorical:
        top = np.array([float(p.categories[j].max(initial=-1)) + 1 for j in categorical])  # an id that goes right
        table, offset = [], []
        for j, t in zip(categorical, top):
            offset.append(len(table))
            row = np.zeros(int(t) + 1, bool)
            row[p.categories[j]] = True
            table.extend(row.tolist())
        ids = g.op("Gather", [x, g.ints("cat_feature", p.feature[categorical], INT64)], "cat_values", axis=1)
        top_c = g.const("cat_top", top)
        negative = g.op("Less", [ids, g.const("zero_id", np.float64(0))], "cat_negative")
        outside = g.op("Or", [negative, g.op("Greater", [ids, top_c], "cat_above")], "cat_range")
        outside = g.op("Or", [g.op("IsNaN", [ids], "cat_nan"), outside], "cat_outside")  # NaN, <0, unseen: right
        clipped = g.op("Cast", [g.op("Where", [outside, top_c, ids], "cat_clipped")], "cat_ids", to=INT64)
        at = g.op("Add", [clipped, g.const("cat_offset", np.array(offset, np.int64))], "cat_at")
        parts.append(g.op("Gather", [g.const("cat_table", np.array(table, bool)), at], "cat_left", axis=0))
    left = parts[0] if len(parts) == 1 else g.op("Concat", parts, "left", axis=1)
    left = g.op("Cast", [left], "left_f", to=FLOAT)
    right = g.op("Sub", [g.const("one", np.float32(1)), left], "right_f")
    pos = np.empty(len(p.feature), np.int64)
    pos[numerical + categorical] = np.arange(len(p.feature))
    return g.op("Concat", [left, right, g.zeros(np.float32)], "decisions", axis=1), pos


def emit(p: Paths, c: Cases, x32: str, op, const, name: str) -> tuple[str, int]:
    """Nodes from X float32 [N, F] to one booster's attributions float64 [N, K·P]; returns (that value, the
    elements gathered per row). `op(op_type, inputs, name, **attrs)`, `const(name, value)`: explain.py's."""
    g = Graph(op, const, name, x32)
    m, s, d = len(p.feature), len(p.slot_leaf), p.depth
    dec, pos = decisions(g, p, x32)  # [N, 2M + 1], the last column 0
    # x fails a slot: it went the other way at one of its nodes. Every grouped value ends in a 0 column.
    wrong = [[int(pos[node]) + (m if left else 0) for node, left in nodes] for nodes in p.slot_nodes]
    fx, at_fx = g.grouped(dec, 2 * m, wrong, "ReduceMax", "x_fails", np.float32, ordered=False)  # [N, S + 1]
    slot_at = np.empty(s, np.int64)  # the slot in each column of fx
    slot_at[at_fx] = np.arange(s)
    leaf_slots = [at_fx[a:b].tolist() for a, b in zip(p.leaf_start[:-1], p.leaf_start[1:])]  # fx's columns
    exact32 = d + COUNT_BITS <= 24  # a leaf's code is exact in float32
    fx_d = fx if exact32 else g.op("Cast", [fx], "x_fails_d", to=DOUBLE)
    narrow = d + COUNT_BITS <= 31  # codes fit int32: half the bytes in the file
    itype, ntype = (np.int32, 6) if narrow else (np.int64, INT64)
    last = np.array([len(p.leaf_value)])  # the 0 column of a per-leaf value: the extra case reads it
    if d <= MASK_BITS:  # per leaf one float64 code = (x's failed slots as bits) · 64 + their count v
        bit = np.ldexp(1.0, np.arange(s) - np.repeat(p.leaf_start[:-1], np.diff(p.leaf_start)) + COUNT_BITS) + 1
        code_type = np.float32 if exact32 else np.float64
        coded = g.op("Mul", [fx_d, g.const("bit", np.r_[bit[slot_at], 0.0].astype(code_type))], "x_fail_bits")
        leaf_code, at_leaf = g.grouped(coded, s, leaf_slots, "ReduceSum", "x_code", code_type, ordered=False)
        code = g.take(leaf_code, np.r_[at_leaf[c.case_leaf], last], "case_x_code")  # [N, G + 1]
        code = g.op("Cast", [code], "case_x_code_i", to=ntype)
        z_mask = np.zeros(c.size + 1, np.int64)
        for case, (a, b) in enumerate(zip(c.case_q[:-1], c.case_q[1:])):
            z_mask[case] = int(np.sum(np.left_shift(1, c.q_slot[a:b] - p.leaf_start[c.case_leaf[case]])))
        both = g.op("BitwiseAnd", [code, g.ints("z_mask", z_mask << COUNT_BITS, ntype)], "case_both")
        live = g.op("Equal", [both, g.const("zero_i", itype(0))], "case_live_b")  # no slot failed by both
        v_case = g.op("BitwiseAnd", [code, g.const("count_bits", itype((1 << COUNT_BITS) - 1))], "case_v_i")
    else:  # too many slots on a path for the bits of a float64: v, and the max over Fz_g of "x fails"
        v = g.grouped(fx, s, leaf_slots, "ReduceSum", "v", np.float32)  # [N, L]
        fz = [at_fx[c.q_slot[a:b]].tolist() for a, b in zip(c.case_q[:-1], c.case_q[1:])]
        failing, at_case = g.grouped(fx, s, fz, "ReduceMax", "case_failing", np.float32, ordered=False)
        failing = g.take(failing, np.r_[at_case, c.size], "case_failing_ordered")  # [N, G + 1]
        live = g.op("Equal", [failing, g.const("zero_f", np.float32(0))], "case_live_b")
        v_case = g.op("Cast", [g.take(v, np.r_[c.case_leaf, 0], "case_v")], "case_v_i", to=ntype)
    live = g.op("Cast", [live], "case_live", to=FLOAT)  # from here float32: sums of at most a leaf's cases
    at = g.op("Add", [v_case, g.ints("case_u", np.r_[c.case_u * (d + 1), 0], ntype)], "case_uv")
    weight = np.r_[c.case_weight, 0.0].astype(np.float32)  # the extra case: weight 0
    scale = g.op("Mul", [live, g.const("case_weight", weight)], "case_scale")
    coef = []  # [N, G + 1] each, the last 0
    for sign, table in zip(
        ("plus", "minus"), (weight_tables(d)[0].astype(np.float32), -weight_tables(d)[1].astype(np.float32))
    ):
        shape = g.op("Concat", [g.n, g.const("w_width", np.array([len(table)]))], f"w_{sign}_shape", axis=0)
        rows = g.op("Expand", [g.const(f"w_{sign}", table.reshape(1, -1)), shape], f"w_{sign}_rows")
        w = g.op("GatherElements", [rows, at], f"case_w_{sign}", axis=1)
        coef.append(g.op("Mul", [w, scale], f"case_{sign}"))
    g.items += 2 * c.size
    # per slot: + coef⁺ of every case failing it in z; − coef⁻ of the leaf's cases where x fails it
    holders = [[] for _ in range(s)]
    for case, (a, b) in enumerate(zip(c.case_q[:-1], c.case_q[1:])):
        for slot in c.q_slot[a:b]:
            holders[slot].append(case)
    plus, at_plus = g.grouped(coef[0], c.size, holders, "ReduceSum", "slot_plus", np.float32, ordered=False)
    leaf_cases = [list(range(a, b)) for a, b in zip(c.leaf_cases[:-1], c.leaf_cases[1:])]
    minus, at_lm = g.grouped(coef[1], c.size, leaf_cases, "ReduceSum", "leaf_minus", np.float32, ordered=False)
    per_slot_minus = g.take(minus, np.r_[at_lm[p.slot_leaf[slot_at]], last], "slot_minus")  # as fx's columns
    minus = g.op("Mul", [fx, per_slot_minus], "slot_minus_x")
    both = g.op("Concat", [plus, minus], "per_slot", axis=1)  # [N, 2S + 2]: +, then − (W⁻ negated), per slot
    key = p.leaf_class[p.slot_leaf] * p.players + p.slot_player
    by_key = [np.r_[at_plus[key == k], s + 1 + at_fx[key == k]].tolist() for k in range(p.classes * p.players)]
    both = g.op("Cast", [both], "per_slot_d", to=DOUBLE)  # the sums per player in float64
    return g.grouped(both, s, by_key, "ReduceSum", "players", np.float64), g.items


def build(trained, members: list, bg_pre: dict[str, np.ndarray], op, const) -> tuple[list, dict]:
    """The nodes of the trees' interventional attributions (`build_terms`); sizes also hold "cases": G."""

    def terms(b, gbm, x32, col_player, name):
        z = gbm.layout_.matrix(bg_pre)
        raw = np.asarray(b.booster.predict(z, raw_score=True), np.float64).reshape(len(z), -1)
        base = raw.mean(axis=0)
        p = paths(b.trees, col_player, player_count(trained))
        if not len(p.leaf_value):  # no split anywhere: nothing to attribute
            return [], base, {}
        c = cases(p, slot_ok(p, goes_left(p, z)))
        out, gathered = emit(p, c, x32, op, const, name)
        return [out], base, {"items": gathered, "slots": len(p.slot_leaf), "cases": c.size}

    return build_terms(trained, members, op, const, terms)


def player_count(trained) -> int:
    """P: the players of explain.players."""
    from toolkit.export.explain_sampled import players

    return len(players(trained))


def build_terms(trained, members: list, op, const, terms) -> tuple[list, dict]:
    """What both tree games share. `members` [(weight, GbmModel)] (ModelKind.explain_split); per member and
    booster, `terms(b, gbm, x32, col_player, name)` gives ([values float64 [N, K·P]], baseline raw score
    float64 [K], {size: count}); they are weighted and summed per output. Returns ([(attributions float32
    [N, P] or [N, C, P], baseline raw score: float or [C] float64)] per output in trained.outputs' order,
    the sizes summed: {"items": elements a row makes, "slots": S, …})."""
    from toolkit.export.explain_trees import matched

    n_players = player_count(trained)
    values: list[list[str]] = [[] for _ in trained.outputs]
    baselines: list = [0.0 for _ in trained.outputs]
    sizes = {"items": 0, "slots": 0}
    x32 = None
    for m, (weight, gbm) in enumerate(members):
        x32 = matrix(gbm.layout_, op, const, f"trees{m}")
        col_player = column_players(trained, gbm)
        for i, b in enumerate(matched(trained, gbm)):
            name = f"trees{m}/{b.name}"
            pieces, base, made = terms(b, gbm, x32, col_player, name)
            baselines[i] = baselines[i] + weight * (np.asarray(base) if b.n_scores > 1 else float(base[0]))
            for key, count in made.items():
                sizes[key] = sizes.get(key, 0) + count
            if not pieces:
                continue
            out = pieces[0] if len(pieces) == 1 else op("Sum", pieces, f"{name}/parts")
            if weight != 1.0:
                out = op("Mul", [out, const(f"{name}/weight", np.float64(weight))], f"{name}/weighted")
            values[i].append(out)
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
    return outs, sizes


def _tensor(value: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(value)
