"""Hypothesis strategies for random configs over the fuzz table (tests/fuzz_data.py), for test_fuzz_configs.

- `valid_configs()`: random VALID configs over DF;
- `BASE` + `invalid_mutations`: (YAML path, mutation) pairs that make BASE invalid.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from tests.fuzz_data import INPUT_COLUMNS, TARGETS

# ---- valid configs -------------------------------------------------------------

small = st.integers(1, 8)
dropout = st.sampled_from([0.0, 0.1, 0.5])


def number_input(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "type": st.just("number")},
        optional={
            "preprocessing": st.fixed_dictionaries(
                {},
                optional={
                    "normalization": st.sampled_from(["zscore", "minmax", "none"]),
                    "missing_value_strategy": st.sampled_from(["mean", "median", "constant"]),
                    "fill_value": st.floats(-10, 10),
                },
            ),
            "encoder": st.one_of(
                st.fixed_dictionaries({"type": st.just("piecewise")}, optional={"bins": st.integers(2, 12)}),
                st.fixed_dictionaries({"type": st.just("dense")}, optional={"size": small}),
                st.just({"type": "passthrough"}),
            ),
        },
    )


def binary_input(name):
    return st.just({"name": name, "type": "binary"})


def category_input(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "type": st.just("category")},
        optional={
            "preprocessing": st.fixed_dictionaries(
                {}, optional={"min_count": st.integers(1, 3), "max_size": st.integers(1, 10)}
            ),
            "encoder": st.fixed_dictionaries(
                {"type": st.sampled_from(["embed", "onehot"])}, optional={"dim": small, "dropout": dropout}
            ),
        },
    )


def text_input(name):
    encoder = st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("embed")}, optional={"dim": small, "pooling": st.sampled_from(["idf_mean", "mean", "max"])}
        ),
        st.fixed_dictionaries(
            {"type": st.just("cnn")},
            optional={
                "dim": small,
                "filters": small,
                "kernel_sizes": st.lists(st.integers(1, 3), min_size=1, max_size=2),
            },
        ),
        st.fixed_dictionaries({"type": st.just("gru")}, optional={"dim": small, "hidden_size": small}),
        st.sampled_from([2, 4]).map(lambda h: {"type": "transformer", "dim": 4 * h, "num_heads": h, "num_layers": 1}),
    )
    pre = st.fixed_dictionaries(
        {},
        optional={
            "lowercase": st.booleans(),
            "punctuation": st.booleans(),
            "max_length": st.integers(1, 12),
            "min_count": st.integers(1, 3),
            "max_size": st.integers(1, 50),
        },
    )
    return st.tuples(pre, encoder, st.booleans()).map(
        lambda t: {
            "name": name,
            "type": "text",
            "preprocessing": {**t[0], **({"ngrams": 2} if t[2] and t[1]["type"] == "embed" else {})},
            "encoder": t[1],
        }
    )


def set_input(name):
    return st.fixed_dictionaries(
        {"name": st.just(name), "type": st.just("set")},
        optional={
            "preprocessing": st.fixed_dictionaries(
                {}, optional={"lowercase": st.booleans(), "min_count": st.integers(1, 2)}
            ),
            "encoder": st.fixed_dictionaries(
                {"type": st.sampled_from(["embed", "multi_hot"])}, optional={"dim": small}
            ),
        },
    )


MAKERS = {
    "number": number_input,
    "binary": binary_input,
    "category": category_input,
    "text": text_input,
    "set": set_input,
}


@st.composite
def valid_configs(draw):
    cols = draw(st.lists(st.sampled_from(sorted(INPUT_COLUMNS)), min_size=1, max_size=6, unique=True))
    inputs = [draw(MAKERS[INPUT_COLUMNS[c]](c)) for c in cols]
    targets = draw(st.lists(st.sampled_from(sorted(TARGETS)), min_size=1, max_size=3, unique=True))
    outputs = []
    for t in targets:
        o = {"name": t, "type": TARGETS[t]}
        if TARGETS[t] == "binary" and draw(st.booleans()):
            o["threshold"] = draw(st.sampled_from([0.3, 0.5, 0.7]))
        if TARGETS[t] == "number" and draw(st.booleans()):
            o["loss"] = {"type": draw(st.sampled_from(["mse", "huber"]))}
        outputs.append(o)
    if draw(st.booleans()):
        heads = draw(st.sampled_from([1, 2, 4]))
        combiner = {
            "type": "transformer",
            "num_heads": heads,
            "d_token": heads * draw(st.integers(1, 4)),
            "num_layers": draw(st.integers(1, 2)),
        }
    else:
        combiner = {
            "type": "concat",
            "num_layers": draw(st.integers(0, 2)),
            "hidden_size": draw(small),
            "norm": draw(st.sampled_from(["batch", "layer", "none"])),
        }
    split = draw(st.sampled_from([{"type": "random"}, {"type": "stratified"}]))
    return {
        "input_features": inputs,
        "output_features": outputs,
        "combiner": combiner,
        "trainer": {"epochs": 1, "batch_size": draw(st.sampled_from([8, 16, 32]))},
        "preprocessing": {"split": split},
    }


# ---- invalid configs through the CLI ---------------------------------------------

BASE = {
    "input_features": [
        {"name": "n1", "type": "number"},
        {"name": "c1", "type": "category"},
        {"name": "t1", "type": "text"},
        {"name": "s1", "type": "set"},
        {"name": "b1", "type": "binary"},
    ],
    "output_features": [{"name": "y_bin", "type": "binary"}],
    "combiner": {"type": "concat", "hidden_size": 8},
    "trainer": {"epochs": 1, "batch_size": 16},
}

# (YAML path that must appear in the error, mutation): each takes a fresh copy of BASE.
NEGATIVE_SIZES = [
    ("combiner.hidden_size", lambda c: c["combiner"].__setitem__("hidden_size", -3)),
    ("trainer.batch_size", lambda c: c["trainer"].__setitem__("batch_size", 0)),
    ("trainer.epochs", lambda c: c["trainer"].__setitem__("epochs", -1)),
    ("trainer.learning_rate", lambda c: c["trainer"].__setitem__("learning_rate", -0.1)),
    ("input_features[1].encoder.dim", lambda c: c["input_features"][1].__setitem__("encoder", {"dim": -4})),
    (
        "input_features[2].preprocessing.max_length",
        lambda c: c["input_features"][2].__setitem__("preprocessing", {"max_length": 0}),
    ),
    ("input_features[0].encoder.bins", lambda c: c["input_features"][0].__setitem__("encoder", {"bins": 1})),
    ("input_features[3].encoder.dim", lambda c: c["input_features"][3].__setitem__("encoder", {"dim": -1})),
    ("output_features[0].threshold", lambda c: c["output_features"][0].__setitem__("threshold", 1.5)),
    ("combiner.dropout", lambda c: c["combiner"].__setitem__("dropout", 1.0)),
]
WRONG_TYPES = [
    ("trainer.epochs", lambda c: c["trainer"].__setitem__("epochs", "ten")),
    ("trainer.batch_size", lambda c: c["trainer"].__setitem__("batch_size", [1, 2])),
    ("combiner.hidden_size", lambda c: c["combiner"].__setitem__("hidden_size", {"a": 1})),
    ("input_features[0].name", lambda c: c["input_features"][0].__setitem__("name", ["n1"])),
    ("input_features", lambda c: c.__setitem__("input_features", "n1")),
    ("trainer", lambda c: c.__setitem__("trainer", 5)),
    (
        "input_features[2].preprocessing.lowercase",
        lambda c: c["input_features"][2].__setitem__("preprocessing", {"lowercase": "perhaps"}),
    ),
    (
        "input_features[3].preprocessing.delimiter",
        lambda c: c["input_features"][3].__setitem__("preprocessing", {"delimiter": ";;"}),
    ),
]
UNKNOWN_TYPES = [
    ("input_features[0].type", lambda c: c["input_features"][0].__setitem__("type", "nmber")),
    ("output_features[0].type", lambda c: c["output_features"][0].__setitem__("type", "image")),
    ("combiner.type", lambda c: c["combiner"].__setitem__("type", "tabnet")),
    ("input_features[1].encoder.type", lambda c: c["input_features"][1].__setitem__("encoder", {"type": "bert"})),
    ("input_features[2].encoder.type", lambda c: c["input_features"][2].__setitem__("encoder", {"type": "lstm"})),
    ("preprocessing.split.type", lambda c: c.__setitem__("preprocessing", {"split": {"type": "kfold"}})),
]
STRUCTURE = [
    ("input_features[5].name", lambda c: c["input_features"].append({"name": "n1", "type": "category"})),
    (
        "output_features[0]",
        lambda c: c["output_features"].__setitem__(0, {"name": "y_bin", "column": "n1", "type": "binary"}),
    ),
    ("input_features[0]", lambda c: c["input_features"][0].pop("type")),
    ("input_features", lambda c: c.__setitem__("input_features", [])),
    ("output_features", lambda c: c.pop("output_features")),
    ("combiner.d_token", lambda c: c.__setitem__("combiner", {"type": "transformer", "d_token": 10, "num_heads": 4})),
    ("trainer.validation_metric", lambda c: c["trainer"].__setitem__("validation_metric", "y_bin.bogus")),
    (
        "input_features[2].encoder",
        lambda c: c["input_features"][2].__setitem__("encoder", {"type": "embed", "filters": 3}),
    ),
    ("preprocessing.split", lambda c: c.__setitem__("preprocessing", {"split": {"ratios": [0.5, 0.5, 0.5]}})),
]
MISSING_COLUMN = [
    ("input_features[0]", lambda c: c["input_features"][0].__setitem__("column", "no_such_col")),
    ("output_features[0]", lambda c: c["output_features"][0].__setitem__("name", "no_target")),
    ("input_features[5]", lambda c: c["input_features"].append({"name": "ghost", "type": "text"})),
]


@st.composite
def unknown_key(draw):
    """An unknown key in a random block of the config."""
    blocks = [
        ("", lambda c: c),
        ("combiner", lambda c: c["combiner"]),
        ("trainer", lambda c: c["trainer"]),
        ("input_features[1]", lambda c: c["input_features"][1]),
        ("output_features[0]", lambda c: c["output_features"][0]),
    ]
    where, get = draw(st.sampled_from(blocks))
    key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12))
    assume(
        key
        not in {
            "name",
            "type",
            "column",
            "dataset",
            "input_features",
            "output_features",
            "combiner",
            "trainer",
            "preprocessing",
            "encoder",
            "threshold",
            "loss_weight",
            "positive_class_weight",
            "epochs",
            "batch_size",
            "learning_rate",
            "weight_decay",
            "lr_scheduler",
            "warmup_epochs",
            "early_stop",
            "validation_metric",
            "grad_clip",
            "seed",
            "threads",
            "device",
            "num_layers",
            "hidden_size",
            "dropout",
            "norm",
            "activation",
        }
    )
    value = draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
    path = f"{where}.{key}" if where else key

    def mutate(c):
        get(c)[key] = value

    return path, mutate


invalid_mutations = st.one_of(
    st.sampled_from(NEGATIVE_SIZES),
    st.sampled_from(WRONG_TYPES),
    st.sampled_from(UNKNOWN_TYPES),
    st.sampled_from(STRUCTURE),
    st.sampled_from(MISSING_COLUMN),
    unknown_key(),
)
