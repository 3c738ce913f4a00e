"""The single ONNX file: every feature type, parity, interface, Predictor, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit import train
from toolkit.cli.main import app
from toolkit.common import log
from toolkit.runtime.predictor import Predictor, PredictorError


def mixed_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every tabular type, with missing values; y_bin / y_cat / y_num depend on the inputs."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.exponential(size=n) * 100
    color = rng.choice(["red", "green", "blue", "Ünïcödé"], size=n)
    flag = rng.choice(["yes", "no"], size=n)
    score = x1 + (color == "red") * 1.5 - (flag == "yes") + rng.normal(scale=0.3, size=n)
    df = pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "x3": rng.integers(0, 5, size=n).astype(float),
            "color": color,
            "flag": flag,
            "y_bin": np.where(score > 0, "Yes", "No"),
            "y_cat": np.select([score < -0.5, score < 0.8], ["low", "mid"], "high"),
            "y_num": score * 10 + 3,
        }
    )
    df.loc[::17, "x1"] = np.nan
    df.loc[::13, "color"] = None
    df.loc[::11, "flag"] = None
    return df


def mixed_config(outputs: list[dict]) -> dict:
    return {
        "input_features": [
            {"name": "x1", "type": "number"},
            {"name": "x2", "type": "number", "encoder": {"type": "passthrough"}},
            {
                "name": "x3",
                "type": "number",
                "encoder": {"type": "dense", "size": 4},
                "preprocessing": {"normalization": "minmax", "missing_value_strategy": "median"},
            },
            {"name": "color", "type": "category"},
            {"name": "color_onehot", "column": "color", "type": "category", "encoder": {"type": "onehot"}},
            {"name": "flag", "type": "binary"},
        ],
        "output_features": outputs,
        "trainer": {"epochs": 3, "batch_size": 64},
    }


OUTPUTS = {
    "binary": [{"name": "y_bin", "type": "binary"}],
    "category": [{"name": "y_cat", "type": "category"}],
    "number": [{"name": "y_num", "type": "number"}],
    "multi": [
        {"name": "y_bin", "type": "binary"},
        {"name": "y_cat", "type": "category"},
        {"name": "y_num", "type": "number", "loss": {"type": "huber"}},
    ],
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    log.quiet = True
    df = mixed_frame()
    out = {}
    for name, outputs in OUTPUTS.items():
        path = tmp_path_factory.mktemp("m") / name
        out[name] = (train(mixed_config(outputs), df, output=path), path)
    return out


@pytest.mark.parametrize("kind", sorted(OUTPUTS))
def test_export_parity_on_edge_rows_for_every_type(models, kind):
    from toolkit.export import parity
    from toolkit.export.onnx import session
    from toolkit.runtime.explanations import info, switched

    model, path = models[kind]
    data = (path / "model.onnx").read_bytes()
    sess = session(onnx.load_from_string(data))
    explaining = session(onnx.load_from_string(switched(data, info(Predictor(path).metadata, path), path)))
    report = parity.assert_parity(model, sess, explain_session=explaining)  # attributions on the edge rows too
    assert any(k.endswith("::attributions") for k in report.max_abs_diff)
    assert report.ok and report.rows >= 20
    assert max(report.max_abs_diff.values()) <= 1e-5


def test_the_file_is_one_self_contained_graph_with_the_documented_interface(models):
    model, path = models["multi"]
    proto = onnx.load(path / "model.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert all(n.name for n in proto.graph.node), "every node is named"
    ins = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    assert ins == {
        "x1": onnx.TensorProto.FLOAT,
        "x2": onnx.TensorProto.FLOAT,
        "x3": onnx.TensorProto.FLOAT,
        "color": onnx.TensorProto.STRING,
        "flag": onnx.TensorProto.STRING,
    }
    assert "tk::explain" in {t.name for t in proto.graph.initializer}  # the explain switch: a constant, false
    outs = [o.name for o in proto.graph.output]
    assert outs == [
        "y_bin::label",
        "y_bin::probabilities",
        "y_cat::label",
        "y_cat::probabilities",
        "y_num::value",
        "y_bin::attributions",
        "y_cat::attributions",
        "y_cat::class_attributions",
        "y_num::attributions",
    ]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["tk.version"]
    classes = {o["name"]: o.get("classes") for o in json.loads(meta["tk.features"])["outputs"]}
    assert classes["y_bin"] == ["No", "Yes"] and sorted(classes["y_cat"]) == ["high", "low", "mid"]
    assert "y_bin" in json.loads(meta["tk.metrics"])


def test_predictor_equals_the_torch_path_on_real_rows(models):
    model, path = models["multi"]
    df = mixed_frame(50, seed=1)
    by_onnx = Predictor(path).predict(df)
    by_torch = model.predict(df, engine="torch")
    assert list(by_onnx.columns) == list(by_torch.columns)
    for col in by_onnx.columns:
        if not pd.api.types.is_numeric_dtype(by_onnx[col]):
            assert (by_onnx[col] == by_torch[col]).all(), col
        else:
            np.testing.assert_allclose(by_onnx[col], by_torch[col], atol=1e-4 if col == "y_num::value" else 1e-5)


def test_predictor_inputs_records_dict_and_frame_agree(models):
    _, path = models["binary"]
    p = Predictor(path)
    df = mixed_frame(5, seed=2)
    records = p.predict(df.to_dict(orient="records"))
    frame = p.predict(df)
    columns = p.predict({c: df[c].tolist() for c in df.columns})
    assert [r["y_bin"]["label"] for r in records] == frame["y_bin::label"].tolist()
    assert [r["y_bin"]["label"] for r in columns] == frame["y_bin::label"].tolist()
    np.testing.assert_allclose(
        [r["y_bin"]["probabilities"]["Yes"] for r in records], frame["y_bin::probability::Yes"], atol=1e-7
    )


def test_predictor_coerces_safely_and_names_bad_columns(models):
    _, path = models["binary"]
    p = Predictor(path)
    base = {"x1": 0.5, "x2": 10, "x3": 2, "color": "red", "flag": "yes"}
    as_ints = p.predict([base])[0]
    as_strings = p.predict([{**base, "x2": "10", "x3": "2.0"}])[0]
    assert as_ints == as_strings
    numeric_flag = p.predict([{**base, "flag": 1}])[0]  # a number for a string input → "1" → yes
    assert numeric_flag == as_ints
    assert p.predict([{**base, "extra": "ignored"}])[0] == as_ints
    with pytest.raises(PredictorError, match=r"rows\[1\]\.x1: expected a number, got str 'abc'"):
        p.predict([base, {**base, "x1": "abc"}])
    with pytest.raises(PredictorError, match=r"rows\[0\]\.color: expected a string, got dict"):
        p.predict([{**base, "color": {"a": 1}}])
    with pytest.raises(PredictorError, match="missing columns: color, flag"):
        p.predict(pd.DataFrame({"x1": [1.0], "x2": [1.0], "x3": [1.0]}))


def test_predictor_handles_zero_rows_and_omitted_fields(models):
    _, path = models["multi"]
    p = Predictor(path)
    empty = p.predict(mixed_frame(5).head(0))
    assert len(empty) == 0 and "y_cat::probability::mid" in empty.columns
    assert p.predict([]) == []
    partial = p.predict([{"x1": 1.0}])[0]  # omitted fields are missing → imputed
    assert set(partial) == {"y_bin", "y_cat", "y_num"}
    assert abs(sum(partial["y_cat"]["probabilities"].values()) - 1) < 1e-5


def test_runtime_never_imports_torch(models, tmp_path):
    """Predictor works in a process where `import torch` fails."""
    _, path = models["multi"]
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None          # any import of torch now raises ImportError
        from toolkit.runtime.predictor import Predictor
        p = Predictor({str(path / "model.onnx")!r}, threads=1)
        out = p.predict([{{"x1": 1.0, "x2": 3.0, "x3": 1.0, "color": "red", "flag": "no"}}])
        assert out[0]["y_bin"]["label"] in ("Yes", "No"), out
        assert "pandas" not in sys.modules and "sklearn" not in sys.modules
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_cli_export_writes_a_parity_checked_file_and_quantizes(models, tmp_path, monkeypatch):
    monkeypatch.setattr(log, "quiet", False)
    _, path = models["binary"]
    runner = CliRunner()
    df = mixed_frame(120, seed=3)
    df.to_csv(tmp_path / "d.csv", index=False)
    plain = runner.invoke(
        app, ["export", str(path), "--onnx", str(tmp_path / "m.onnx"), "--dataset", str(tmp_path / "d.csv")]
    )
    assert plain.exit_code == 0, plain.output
    assert "parity on 144 rows" in plain.stderr and "0 label mismatches: ok" in plain.stderr
    q = runner.invoke(
        app,
        [
            "export",
            str(path),
            "--onnx",
            str(tmp_path / "q.onnx"),
            "--quantize",
            "int8",
            "--dataset",
            str(tmp_path / "d.csv"),
        ],
    )
    assert q.exit_code == 0, q.output
    assert "quantized int8" in q.stderr and "int8 y_bin: roc_auc" in q.stderr
    a, b = Predictor(tmp_path / "m.onnx").predict(df), Predictor(tmp_path / "q.onnx").predict(df)
    assert np.abs(a["y_bin::probability::Yes"] - b["y_bin::probability::Yes"]).max() < 0.1
    bad = runner.invoke(app, ["export", str(path), "--onnx", str(tmp_path / "x.onnx"), "--quantize", "int4"])
    assert bad.exit_code == 2 and "--quantize" in bad.stderr


def test_dynamo_exporter_gives_the_same_answers(models):
    from toolkit.export import parity
    from toolkit.export.onnx import export, session

    model, path = models["multi"]
    full, report = export(model, exporter="dynamo")
    assert report.ok
    df_cols = parity.edge_columns(model)
    a = session(full).run(None, df_cols)
    b = session(onnx.load(path / "model.onnx")).run(None, df_cols)
    for x, y in zip(a, b):
        if x.dtype == object:
            assert (x == y).all()
        else:
            np.testing.assert_allclose(x, y, atol=1e-5)
