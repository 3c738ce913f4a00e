"""The same model.onnx on the edge: onnxruntime-node and onnxruntime-web (wasm) under Node.js.

examples/edge/node/predict.js runs the file with each backend; its labels must
equal Python onnxruntime's (toolkit.runtime.predictor.Predictor) and its probabilities
be within 1e-5, on the churn validation rows (of the neural model and of a
`model_type: gbm` one) plus the edge rows of
toolkit.export.parity.edge_columns (NaN, ±inf, empty and whitespace strings,
unseen categories, accents, CJK, emoji, a 10,000-character string).

Skips, saying why, only where `node` is absent or the npm packages are not
installed (`sh examples/edge/node/install.sh`, which `make test` runs).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import CHURN, ROOT

EDGE = ROOT / "examples" / "edge" / "node"
PREDICT = EDGE / "predict.js"
BACKENDS = {"onnxruntime-node": [], "onnxruntime-web-wasm": ["--wasm"]}
PACKAGE = {"onnxruntime-node": "onnxruntime-node", "onnxruntime-web-wasm": "onnxruntime-web"}
TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def node_bin() -> str:
    """The `node` executable, or a skip that says what to install."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found on PATH: install Node.js ≥ 18 to run the edge (Node/wasm) parity tests")
    return node


def flags_for(backend: str) -> list[str]:
    """predict.js flags for a backend; skips when its npm package is not installed."""
    package = PACKAGE[backend]
    if not (EDGE / "node_modules" / package / "package.json").exists():
        pytest.skip(
            f"{package} not installed in examples/edge/node: run `sh examples/edge/node/install.sh` "
            "(npm ci from the committed package-lock.json; `make test` runs it)"
        )
    return BACKENDS[backend]


def run_predict(node: str, model, rows, *flags: str, expect_ok: bool = True) -> dict | subprocess.CompletedProcess:
    proc = subprocess.run(
        [node, str(PREDICT), str(model), str(rows), *flags],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )
    if not expect_ok:
        return proc
    assert proc.returncode == 0, f"predict.js {' '.join(flags)} failed (rc {proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout)


def json_column(values: np.ndarray) -> list:
    """A raw column as JSON: NaN → null, ±inf → "Infinity" / "-Infinity" (JSON has neither)."""
    if values.dtype.kind == "f":
        return [
            None if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else v
            for v in values.astype(np.float64).tolist()
        ]
    return [str(v) for v in values.tolist()]


def write_json(path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, allow_nan=False), encoding="utf-8")


def null_to_nan(value):
    """JSON null (JSON.stringify's NaN) → NaN, in nested lists."""
    if isinstance(value, list):
        return [null_to_nan(v) for v in value]
    return math.nan if value is None else value


def assert_same(got: dict, want: dict, backend: str) -> None:
    """Labels identical; floats within TOLERANCE; every output present."""
    assert sorted(got) == sorted(want), f"{backend}: outputs {sorted(got)} != Python's {sorted(want)}"
    for name, expected in want.items():
        expected = np.asarray(expected)
        if expected.dtype.kind in "OUSbiu":
            have = np.asarray(got[name], dtype=object).reshape(expected.shape)
            bad = np.flatnonzero((have != expected.astype(object)).reshape(-1))
            assert not len(bad), (
                f"{backend}: {name}: {len(bad)} mismatch(es); first at flat index {bad[0]}: "
                f"{have.reshape(-1)[bad[0]]!r} != {expected.reshape(-1)[bad[0]]!r}"
            )
        else:
            have = np.array(null_to_nan(got[name]), dtype=np.float64)
            assert have.shape == expected.shape, f"{backend}: {name}: shape {have.shape} != {expected.shape}"
            diff = np.abs(have - expected.astype(np.float64))
            assert np.array_equal(np.isnan(have), np.isnan(expected)), f"{backend}: {name}: NaN positions differ"
            worst = float(np.nanmax(diff, initial=0.0))
            assert worst <= TOLERANCE, f"{backend}: {name}: max |Δ| {worst:.3e} > {TOLERANCE:g}"


# ---- the churn model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def churn_edge(node_bin, churn_model, tmp_path_factory):
    """(model.onnx path, rows.json path, raw columns): validation rows + edge rows."""
    import pandas as pd

    from toolkit.export.parity import concat_columns, edge_columns
    from toolkit.features import columns as prepare

    model, out = churn_model
    df = pd.read_csv(CHURN / "churn.csv")
    validation = prepare.input_columns(model.inputs, df[df["split"] == "validation"], "churn.csv")
    columns = concat_columns(validation, edge_columns(model))
    rows = tmp_path_factory.mktemp("edge") / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in columns.items()})
    return out / "model.onnx", rows, columns


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_churn_parity_with_python_onnxruntime(node_bin, churn_edge, backend):
    from toolkit.runtime.predictor import Predictor

    path, rows, columns = churn_edge
    want = Predictor(path).run(columns)
    got = run_predict(node_bin, path, rows, *flags_for(backend))
    assert len(got["churn::label"]) == len(columns["tenure"]) > 24
    assert_same(got, want, backend)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_records_are_coerced_like_the_python_predictor(node_bin, churn_edge, tmp_path, backend):
    """Records with omitted fields, numeric strings, numbers in string columns, null, booleans."""
    import pandas as pd

    from toolkit.runtime.predictor import Predictor

    path = churn_edge[0]
    sample = pd.read_csv(CHURN / "sample.csv", dtype=str, keep_default_na=False).head(5)
    records = sample.to_dict(orient="records")  # every value a string, as a form would send it
    records += [
        {},  # every field missing
        {"tenure": None, "contract": "never seen", "female": 1, "partner": True},
        {"tenure": " 12 ", "monthly_charges": "NaN", "total_charges": "-Infinity", "senior_citizen": 0.0},
        {"tenure": 3, "contract": "Month-to-month", "payment_method": "日本語 😀", "unused": [1, 2]},
    ]
    rows = tmp_path / "records.json"
    write_json(rows, records)
    want = Predictor(path).run(records)
    assert_same(run_predict(node_bin, path, rows, *flags_for(backend)), want, backend)


def test_bad_values_are_refused_naming_row_and_column(node_bin, churn_edge, tmp_path):
    flags_for("onnxruntime-node")
    path = churn_edge[0]
    rows = tmp_path / "bad.json"
    write_json(rows, [{"tenure": 3}, {"tenure": "abc"}])
    proc = run_predict(node_bin, path, rows, expect_ok=False)
    assert proc.returncode == 2 and "rows[1].tenure: expected a number" in proc.stderr, proc.stderr
    write_json(rows, {"tenure": [1.0]})
    proc = run_predict(node_bin, path, rows, expect_ok=False)
    assert proc.returncode == 2 and "missing columns: female" in proc.stderr, proc.stderr


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_zero_rows_give_empty_outputs(node_bin, churn_edge, tmp_path, backend):
    rows = tmp_path / "empty.json"
    write_json(rows, [])
    got = run_predict(node_bin, churn_edge[0], rows, *flags_for(backend))
    assert got == {"churn::label": [], "churn::probabilities": []}  # no attributions unless --explain


# ---- a gbm model: the trees (ai.onnx.ml 5 TreeEnsemble) between the same pre and post graphs ----


@pytest.fixture(scope="module")
def gbm_edge(node_bin, tmp_path_factory):
    """(model.onnx path, rows.json path, raw columns) of churn trained with model_type gbm."""
    import pandas as pd
    import yaml

    from toolkit import train
    from toolkit.common import log
    from toolkit.export.parity import concat_columns, edge_columns
    from toolkit.features import columns as prepare

    log.quiet = True
    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg |= {"model_type": "gbm", "gbm": {"num_trees": 40, "threads": 1}, "dataset": str(CHURN / "churn.csv")}
    out = tmp_path_factory.mktemp("edge_gbm") / "churn_gbm"
    model = train(cfg, output=out)
    df = pd.read_csv(CHURN / "churn.csv")
    validation = prepare.input_columns(model.inputs, df[df["split"] == "validation"], "churn.csv")
    columns = concat_columns(validation, edge_columns(model))
    rows = tmp_path_factory.mktemp("edge_gbm_rows") / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in columns.items()})
    return out / "model.onnx", rows, columns


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_gbm_parity_with_python_onnxruntime(node_bin, gbm_edge, backend):
    from toolkit.runtime.predictor import Predictor

    path, rows, columns = gbm_edge
    want = Predictor(path).run(columns)
    got = run_predict(node_bin, path, rows, *flags_for(backend))
    assert len(got["churn::label"]) == len(columns["tenure"]) > 24
    assert_same(got, want, backend)


# ---- the string ops tk's recipes use (text and set features included) -----------------------


def string_ops_model(path) -> None:
    """One graph over x: string [N] with an output per op of ONNX_RECIPES.md that takes strings."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper

    from toolkit.common.onnxgraph import IR_VERSION, OPSETS, tensor

    def node(op, ins, outs, domain="", **attrs):
        return helper.make_node(op, ins, outs, name=f"{op}/{outs[0]}", domain=domain, **attrs)

    ml, ms = "ai.onnx.ml", "com.microsoft"
    nodes = [
        node("StringNormalizer", ["x"], ["lower"], case_change_action="LOWER", locale="C.UTF-8"),
        node(
            "LabelEncoder",
            ["lower"],
            ["ids"],
            ml,
            keys_tensor=tensor("k", ["", "a", "b", "ünï", "日本語"], "string"),
            values_tensor=tensor("v", np.array([0, 2, 3, 4, 5], np.int64)),
            default_tensor=tensor("d", np.array([1], np.int64)),
        ),
        node("LabelEncoder", ["x"], ["ids_legacy"], ml, keys_strings=["a", "b"], values_int64s=[2, 3], default_int64=1),
        node(
            "LabelEncoder",
            ["lower"],
            ["yes"],
            ml,
            keys_tensor=tensor("k", ["yes", "no"], "string"),
            values_tensor=tensor("v", np.array([1, 0], np.float32)),
            default_tensor=tensor("d", np.array([np.nan], np.float32)),
        ),
        node(
            "LabelEncoder",
            ["ids"],
            ["label"],
            ml,
            keys_tensor=tensor("k", np.arange(6, dtype=np.int64)),
            values_tensor=tensor("v", ["", "?", "A", "B", "Ü", "日"], "string"),
            default_tensor=tensor("d", [""], "string"),
        ),
        node(
            "Tokenizer",
            ["x"],
            ["tokens"],
            ms,
            tokenexp=r"[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]",
            mark=0,
            pad_value="",
            mincharnum=1,
        ),
        node("StringSplit", ["x"], ["words", "counts"]),
        node("RegexFullMatch", ["x"], ["numeric"], pattern=r"\s*[+-]?\d+(\.\d*)?\s*"),
        node("StringConcat", ["x", "lower"], ["concat"]),
        node("MurmurHash3", ["x"], ["hash"], ms, seed=0, positive=1),
        node("Constant", [], ["empty"], value=tensor("empty", [""], "string")),
        node("Equal", ["x", "empty"], ["is_empty"]),
    ]
    outs = {
        "lower": (T.STRING, ["N"]),
        "ids": (T.INT64, ["N"]),
        "ids_legacy": (T.INT64, ["N"]),
        "yes": (T.FLOAT, ["N"]),
        "label": (T.STRING, ["N"]),
        "tokens": (T.STRING, ["N", "D"]),
        "words": (T.STRING, ["N", "W"]),
        "counts": (T.INT64, ["N"]),
        "numeric": (T.BOOL, ["N"]),
        "concat": (T.STRING, ["N"]),
        "hash": (T.UINT32, ["N"]),
        "is_empty": (T.BOOL, ["N"]),
    }
    graph = helper.make_graph(
        nodes,
        "string_ops",
        [helper.make_tensor_value_info("x", T.STRING, ["N"])],
        [helper.make_tensor_value_info(k, t, s) for k, (t, s) in outs.items()],
        value_info=[helper.make_tensor_value_info("tokens", T.STRING, ["N", "D"])],
    )
    model = helper.make_model(
        graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()]
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)


STRINGS = [
    "Hello World",
    "",
    " ",
    "  a b ",
    "A",
    "b",
    "Ünï",
    "ÜNÏCÖDÉ façade",
    "日本語のテキスト 日本語",
    "yes",
    "NO",
    " 3.5 ",
    "-2",
    "😀 x_y, z!",
    "<b>html</b><br />",
    "x" * 10_000,
]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_string_ops_of_the_recipes_match_python(node_bin, tmp_path, backend):
    """StringNormalizer, LabelEncoder (tensor and legacy attributes, both directions), Tokenizer,
    StringSplit, RegexFullMatch, StringConcat, MurmurHash3, Equal on strings."""
    import onnxruntime as ort

    path, rows = tmp_path / "string_ops.onnx", tmp_path / "rows.json"
    string_ops_model(path)
    write_json(rows, {"x": STRINGS})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": np.array(STRINGS, dtype=object)})))
    assert_same(run_predict(node_bin, path, rows, *flags_for(backend)), want, backend)


# ---- explanations: the file's explain branch (tk::explain = true) on the edge --------------------


@pytest.mark.parametrize("model", ["churn_edge", "gbm_edge"])
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_attributions_equal_python_onnxruntimes(node_bin, model, backend, request, tmp_path):
    """predict.js --explain: the attributions of 40 validation rows and the edge rows within 1e-5 of the
    Python Predictor's (same file, same graph); without --explain none are computed or printed."""
    from toolkit.runtime.predictor import Predictor

    path, _, columns = request.getfixturevalue(model)
    n = len(columns["tenure"])
    keep = np.r_[np.arange(40), np.arange(n - 24, n)]
    part = {c: v[keep] for c, v in columns.items()}
    rows = tmp_path / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in part.items()})
    p = Predictor(path)
    want = np.array([[r["churn"][k] for k in p.metadata["tk.explain"]["players"]] for r in p.explain(part)])
    got = run_predict(node_bin, path, rows, "--explain", *flags_for(backend))
    assert_same({"churn::attributions": got.pop("churn::attributions")}, {"churn::attributions": want}, backend)
    assert sorted(got) == ["churn::label", "churn::probabilities"]
