"""model_type gbm (toolkit/models/gbm): LightGBM trees as ONNX, against LightGBM itself.

Real features fitted on synthetic data (numbers with NaN, a category with 80
levels, a yes/no flag, a set), real LightGBM, real onnxruntime. Each model's
ONNX core must give LightGBM's raw scores within 1e-5 on the validation rows
and on hostile rows (NaN, ±inf, 3e38, values exactly at split thresholds,
unseen and out-of-range category ids); the pre graph + trees must give the
same from raw columns.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import compose
from pydantic import ValidationError

from toolkit.errors import TkError
from toolkit.features.binary import BinaryInput, BinaryInputConfig, BinaryOutput, BinaryOutputConfig
from toolkit.features.category import CategoryInput, CategoryInputConfig, CategoryOutput, CategoryOutputConfig
from toolkit.features.number import NumberInput, NumberInputConfig, NumberOutput, NumberOutputConfig
from toolkit.features.pregraph import build_graph
from toolkit.features.set import SetInput, SetInputConfig, SetOutput, SetOutputConfig
from toolkit.models.gbm import GbmConfig, GbmModel, Layout, set_ml_opset
from toolkit.models.gbm.objectives import score
from toolkit.models.gbm.tree_check import read_booster

N_TRAIN, N_VAL, LEVELS = 1500, 400, 80
TOL = 1e-5
FAST = dict(num_trees=40, learning_rate=0.2, num_leaves=15, min_data_in_leaf=5, early_stop=10, threads=1)


def _raw(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n).astype(np.float32)
    x1[rng.random(n) < 0.15] = np.nan
    x2 = rng.exponential(size=n).astype(np.float32)
    cat = rng.integers(0, LEVELS, n)
    city = np.array([f"c{c}" for c in cat], dtype=object)
    city[rng.random(n) < 0.05] = ""
    flag = np.where(rng.random(n) < 0.4, "yes", "no").astype(object)
    tags = np.array(
        [",".join(t for t in ("red", "green", "blue") if rng.random() < 0.4) for _ in range(n)], dtype=object
    )
    signal = (
        np.nan_to_num(x1, nan=1.0)
        + 0.8 * (cat % 4 == 0)
        - 0.6 * (cat % 7 == 1)
        + 0.5 * x2
        + 0.5 * (flag == "yes")
        + 0.4 * np.char.count(tags.astype(str), "red")
        + rng.normal(size=n) * 0.4
    )
    return {
        "x1": x1,
        "x2": x2,
        "city": city,
        "flag": flag,
        "tags": tags,
        "yes": np.where(signal > 0.8, "yes", "no").astype(object),
        "kind": np.array(["low", "mid", "high"], dtype=object)[np.digitize(signal, [0.3, 1.3])],
        "amount": (3 * signal + 10).astype(np.float32),
    }


def _inputs(train: dict[str, np.ndarray]):
    return [
        NumberInput(NumberInputConfig(name="x1", type="number")).fit(train["x1"]),  # piecewise [N, 8]
        NumberInput(
            NumberInputConfig(
                name="x2", type="number", encoder={"type": "passthrough"}, preprocessing={"normalization": "none"}
            )
        ).fit(train["x2"]),
        CategoryInput(CategoryInputConfig(name="city", type="category")).fit(train["city"]),
        BinaryInput(BinaryInputConfig(name="flag", type="binary")).fit(train["flag"]),
        SetInput(SetInputConfig(name="tags", type="set")).fit(train["tags"]),
    ]


OUTPUTS = {
    "binary": lambda col: BinaryOutput(BinaryOutputConfig(name="yes", type="binary")).fit(col["yes"]),
    "category": lambda col: CategoryOutput(CategoryOutputConfig(name="kind", type="category")).fit(col["kind"]),
    "number": lambda col: NumberOutput(NumberOutputConfig(name="amount", type="number")).fit(col["amount"]),
}
TARGET = {"binary": "yes", "category": "kind", "number": "amount"}


class _PreGraph:
    """The pre graph (toolkit.features.pregraph.build_graph) in onnxruntime: raw columns → {feature: pre tensor}."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.model = build_graph(inputs)
        self.columns = [i.name for i in self.model.graph.input]
        self.session = ort.InferenceSession(self.model.SerializeToString(), providers=["CPUExecutionProvider"])

    def transform(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = self.session.run(None, {c: raw[c] for c in self.columns})
        return {f.config.name: o for f, o in zip(self.inputs, outs)}


@pytest.fixture(scope="module")
def data():
    train, val = _raw(N_TRAIN, 0), _raw(N_VAL, 1)
    inputs = _inputs(train)
    pre = _PreGraph(inputs)
    pre_train, pre_val = pre.transform(train), pre.transform(val)
    layout = Layout.of(inputs, pre_train)
    return dict(
        train=train,
        val=val,
        inputs=inputs,
        pre=pre,
        pre_train=pre_train,
        pre_val=pre_val,
        layout=layout,
        x_train=layout.matrix(pre_train),
        x_val=layout.matrix(pre_val),
    )


def _fit(data, kinds, metric=None, **cfg):
    outputs = [OUTPUTS[k](data["train"]) for k in kinds]
    ys_train = [o.encode_target(data["train"][o.config.source]) for o in outputs]
    ys_val = [o.encode_target(data["val"][o.config.source]) for o in outputs]
    model = GbmModel(GbmConfig(**(FAST | cfg))).fit(
        data["x_train"],
        ys_train,
        data["x_val"],
        ys_val,
        outputs=outputs,
        layout=data["layout"],
        validation_metric=metric,
    )
    return model, outputs


def _session(model: onnx.ModelProto):
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _run_core(model: GbmModel, pre: dict[str, np.ndarray]) -> list[np.ndarray]:
    feeds = {f"{b.feature}::pre": np.ascontiguousarray(pre[b.feature]) for b in model.layout_.blocks}
    return _session(model.to_onnx()).run(None, feeds)


def _hostile_pre(data, model: GbmModel) -> dict[str, np.ndarray]:
    """Pre tensors the pre graph never yields but the core must route like LightGBM:
    NaN, ±inf, ±3e38 in every numeric column; every split threshold and its float32
    neighbours; category ids 0, 1, the last, one past it and 10**6."""
    layout = data["layout"]
    thresholds: dict[int, list[float]] = {}
    for b in model.boosters_:
        stack = [t["tree_structure"] for t in b.booster.dump_model()["tree_info"]]
        while stack:
            node = stack.pop()
            if "leaf_value" not in node:
                if node["decision_type"] == "<=":
                    thresholds.setdefault(node["split_feature"], []).append(float(node["threshold"]))
                stack += [node["left_child"], node["right_child"]]
    specials = [np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0, -0.0, 1.0]
    n = len(specials) + max([3 * len(v) for v in thresholds.values()] + [0])
    rng = np.random.default_rng(7)
    x = data["x_val"][rng.integers(0, N_VAL, n)].copy()
    for col in range(layout.n_columns):
        if col in layout.categorical:
            continue
        values = list(specials)
        for t in thresholds.get(col, []):
            t32 = np.float32(t)
            values += [t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf))]
        x[: len(values), col] = np.array(values, dtype=np.float32)
    n_ids = data["inputs"][2].n_ids
    ids = np.resize(np.array([0, 1, n_ids - 1, n_ids, 10**6], np.int64), n)
    pre = {}
    for b in layout.blocks:
        block = x[:, b.start : b.start + b.width]
        pre[b.feature] = ids if b.categorical else block.astype(np.float32)
    return pre


@pytest.mark.parametrize("kind", ["binary", "category", "number"])
def test_onnx_core_equals_lightgbm(data, kind):
    model, outputs = _fit(data, [kind])
    b = model.boosters_[0]
    assert 1 <= b.info["rounds"] <= FAST["num_trees"]
    for pre in (data["pre_val"], _hostile_pre(data, model)):
        x = data["layout"].matrix(pre)
        (want,) = model.predict_raw(x)
        direct = b.booster.predict(x, raw_score=True)
        np.testing.assert_allclose(want.ravel(), np.asarray(direct, np.float32).ravel(), atol=1e-6)
        (got,) = _run_core(model, pre)
        assert got.shape == want.shape == ((len(x), 3) if kind == "category" else (len(x),))
        assert np.abs(got - want).max() <= TOL
    # the scores mean what the post graph expects: they beat a constant on validation rows
    y = outputs[0].encode_target(data["val"][TARGET[kind]])
    metrics = score(outputs[0], y, model.predict_raw(data["x_val"])[0])
    assert (
        metrics[{"binary": "roc_auc", "category": "accuracy", "number": "r2"}[kind]]
        > {"binary": 0.8, "category": 0.6, "number": 0.5}[kind]
    )


def test_pre_trees_post_in_one_file(data):
    """Raw columns → pre graph (ml opset raised to 5) → trees → each output's post graph."""
    from toolkit.common.onnxgraph import GraphBuilder

    model, outputs = _fit(data, ["binary", "category", "number"], metric=("yes", "roc_auc"))
    pre = build_graph(data["inputs"])
    g = GraphBuilder("post")
    specs = {}
    for o in outputs:
        specs |= o.to_onnx_post(g, g.input(f"{o.config.name}::raw", "float32", None))
    for name, (dtype, shape) in specs.items():
        g.output(name, dtype, shape)
    post = g.build()
    pre, post = set_ml_opset(pre), set_ml_opset(post)
    core = model.to_onnx()
    full = compose.merge_models(pre, core, io_map=[(b.pre, b.pre) for b in model.layout_.blocks], prefix2="gbm/")
    full = compose.merge_models(
        full, post, io_map=[(f"gbm/{o.config.name}::raw", f"{o.config.name}::raw") for o in outputs]
    )
    session = _session(full)
    raw = {k: v.copy() for k, v in data["val"].items()}
    raw["x1"][:6] = [np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0]
    raw["x2"][6:12] = [np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0]
    raw["city"][:4] = ["never-seen", "", "C1", "c1 "]
    cols = data["pre"].columns
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {c: raw[c] for c in cols})))
    want = model.predict_raw(data["layout"].matrix(data["pre"].transform(raw)))
    for o, w in zip(outputs, want):
        n = o.config.name
        if o.type == "number":
            np.testing.assert_allclose(got[f"{n}::value"], w * o.std_ + o.mean_, rtol=1e-5, atol=1e-4)
            continue
        p = o.predict(w)
        assert np.abs(got[f"{n}::probabilities"] - p["probabilities"]).max() <= TOL
        assert got[f"{n}::label"].tolist() == p["label"].tolist()


def test_state_round_trip(data):
    model, _ = _fit(data, ["category", "number"])
    state = json.loads(json.dumps(model.state()))
    again = GbmModel.from_state(model.config, state)
    for a, b in zip(model.predict_raw(data["x_val"]), again.predict_raw(data["x_val"])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_run_core(model, data["pre_val"]), _run_core(again, data["pre_val"])):
        np.testing.assert_array_equal(a, b)
    assert again.importances() == model.importances()
    assert again.stats == model.stats
    with pytest.raises(TkError, match="version"):
        GbmModel.from_state(model.config, {**state, "version": 99})


def test_importances_and_early_stopping(data):
    model, _ = _fit(data, ["binary"], metric=("yes", "f1"), num_trees=400, learning_rate=0.5, early_stop=5)
    gain = model.importances()["yes"]
    assert list(gain) == ["x1", "x2", "city", "flag", "tags"]
    assert all(v >= 0 for v in gain.values()) and max(gain, key=gain.get) == "x1"
    info = model.stats["yes"]
    assert info["early_stop_metric"] == "yes.f1" and "f1" in info["validation"]
    assert info["rounds"] < info["rounds_trained"] < 400  # stopped early, kept the best round
    assert len(model.boosters_[0].booster.dump_model()["tree_info"]) == info["rounds"]


def test_categorical_is_one_lightgbm_categorical(data):
    from toolkit.features.category import MISSING_ID

    col = data["layout"].blocks[2].start
    ids = data["pre_train"]["city"]
    assert (ids == MISSING_ID).any()
    np.testing.assert_array_equal(np.isnan(data["x_train"][:, col]), ids == MISSING_ID)  # missing = LightGBM's NaN
    model, _ = _fit(data, ["binary"])
    dump = model.boosters_[0].booster.dump_model()
    city = data["layout"].categorical
    assert city == [data["layout"].blocks[2].start]
    kinds = set()
    stack = [t["tree_structure"] for t in dump["tree_info"]]
    while stack:
        node = stack.pop()
        if "leaf_value" not in node:
            kinds.add((node["split_feature"] in city, node["decision_type"]))
            stack += [node["left_child"], node["right_child"]]
    assert (True, "==") in kinds and (True, "<=") not in kinds


def test_zero_as_missing_booster_converts():
    """LightGBM's zero_as_missing routing (not tk's default) converts exactly too."""
    import lightgbm as lgb

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.models.gbm.trees import ensemble_onnx, zero_as_missing_onnx, zero_columns

    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 2)).astype(np.float32)
    x[rng.random(800) < 0.3, 0] = 0.0
    y = (x[:, 0] == 0) + x[:, 1] + rng.normal(size=800) * 0.1
    b = lgb.train(
        {"objective": "regression", "zero_as_missing": True, "verbosity": -1, "num_threads": 1},
        lgb.Dataset(x, y),
        num_boost_round=20,
    )
    trees = read_booster(b.model_to_string(), width=2, n_scores=1, max_trees=20, max_leaves=31, where="z")
    assert zero_columns(trees) == [0, 1] or zero_columns(trees) == [0]
    g = GraphBuilder("z")
    xd = g.op("Cast", g.input("X", "float32", ["N", 2]), name="double", to=11)
    out = ensemble_onnx(g, zero_as_missing_onnx(g, xd, zero_columns(trees), 2, "z"), trees, "z")
    g.output(out, "float64", ["N", 1])
    m = set_ml_opset(g.build())
    x[:8, 0] = [0.0, -0.0, 1e-36, np.nan, np.inf, -np.inf, 1e-30, -1e-36]
    got = _session(m).run(None, {"X": x})[0][:, 0]
    np.testing.assert_allclose(got, b.predict(x, raw_score=True), atol=1e-9)


def test_refusals(data):
    from toolkit.features.text import TextInput, TextInputConfig

    text = TextInput(TextInputConfig(name="review", type="text"))
    with pytest.raises(TkError, match=r"input_features\[1\] \('review', type text\).*set feature"):
        Layout.of([data["inputs"][0], text], {"x1": data["pre_train"]["x1"]})
    tags = SetOutput(SetOutputConfig(name="labels", type="set")).fit(data["train"]["tags"])
    with pytest.raises(TkError, match=r"output_features\[0\] \('labels', type set\)"):
        GbmModel(GbmConfig(**FAST)).fit(
            data["x_train"],
            [tags.encode_target(data["train"]["tags"])],
            None,
            None,
            outputs=[tags],
            layout=data["layout"],
        )


@pytest.mark.parametrize(
    "bad, path",
    [
        ({"num_leaves": 1}, "num_leaves"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"feature_fraction": 1.5}, "feature_fraction"),
        ({"bagging": {"fraction": 0.5}}, "bagging"),
        ({"early_stop": -1}, "early_stop"),
        ({"num_tress": 10}, "num_tress"),
    ],
)
def test_config_errors(bad, path):
    with pytest.raises(ValidationError, match=path):
        GbmConfig(**bad)


def test_config_defaults():
    cfg = GbmConfig()
    assert (cfg.num_trees, cfg.learning_rate, cfg.num_leaves, cfg.min_data_in_leaf) == (1000, 0.05, 31, 20)
    assert cfg.bagging.fraction == 1.0 and cfg.early_stop == 100
    assert GbmConfig(bagging={"fraction": 0.8, "freq": 1}).lightgbm_params()["bagging_fraction"] == 0.8


def test_trees_without_splits():
    """Constant features: LightGBM's trees are single leaves (the bias); the ONNX ensemble says the same."""
    import lightgbm as lgb

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.models.gbm.trees import ensemble_onnx

    x = np.ones((100, 2), np.float32)
    y = np.r_[np.zeros(30), np.ones(70)]
    b = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, lgb.Dataset(x, y), num_boost_round=3)
    trees = read_booster(b.model_to_string(), width=2, n_scores=1, max_trees=3, max_leaves=31, where="leaves")
    assert all(t.num_leaves == 1 for t in trees.trees)
    g = GraphBuilder("leaves")
    xd = g.op("Cast", g.input("X", "float32", ["N", 2]), name="double", to=11)
    g.output(ensemble_onnx(g, xd, trees, "leaves"), "float64", ["N", 1])
    x[:3] = [[np.nan, np.inf], [-np.inf, 0], [5, -5]]
    got = _session(set_ml_opset(g.build())).run(None, {"X": x})[0][:, 0]
    np.testing.assert_allclose(got, b.predict(x, raw_score=True), atol=1e-12)
    assert abs(got[0] - np.log(0.7 / 0.3)) < 1e-6  # boost from average: the logit of the base rate


@pytest.mark.parametrize(
    "kind, metric, lightgbm_name",
    [
        ("category", "accuracy", "multi_error"),  # LightGBM's built-in where it ranks the same
        ("category", "macro_f1", "macro_f1"),  # else tk's own score as a custom evaluation
        ("number", "r2", "l2"),
        ("number", "mae", "l1"),
        ("binary", "roc_auc", "auc"),
    ],
)
def test_early_stopping_metric(data, kind, metric, lightgbm_name):
    name = TARGET[kind]
    model, _ = _fit(data, [kind], metric=(name, metric), num_trees=60)
    info = model.stats[name]
    assert info["early_stop_metric"] == f"{name}.{metric}"
    assert list(info["validation"]) == [lightgbm_name]
    assert 1 <= info["rounds"] <= info["rounds_trained"] <= 60
