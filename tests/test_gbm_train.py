"""model_type: gbm through the one training path: train, save, load, predict, evaluate, CLI.

Penguins (category output, category + number inputs with missing values) and
a small regression on the same data; the one-file ONNX must answer like
LightGBM on the pre graph's outputs (the parity check every export runs, plus
the torch-engine path here), and a reloaded model must give the same numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import PENGUINS
from toolkit import load, train
from toolkit.common import log
from toolkit.errors import TkError

log.quiet = True


def gbm_config(output: dict, **gbm) -> dict:
    return {
        "input_features": [
            {"name": "island", "type": "category"},
            {"name": "bill_length_mm", "type": "number"},
            {"name": "bill_depth_mm", "type": "number"},
            {"name": "flipper_length_mm", "type": "number"},
            {"name": "sex", "type": "category"},
        ],
        "output_features": [output],
        "model_type": "gbm",
        "gbm": {"num_trees": 60, "threads": 1, **gbm},
        "preprocessing": {"split": {"type": "stratified", "ratios": [0.6, 0.2, 0.2], "seed": 7}},
    }


@pytest.fixture(scope="module")
def penguins():
    return pd.read_csv(PENGUINS / "penguins.csv")


@pytest.fixture(scope="module")
def species_gbm(penguins, tmp_path_factory):
    out = tmp_path_factory.mktemp("gbm") / "species"
    return train(gbm_config({"name": "species", "type": "category"}), penguins, output=out), out


def test_gbm_classifier_trains_saves_and_reloads(species_gbm, penguins):
    model, out = species_gbm
    files = json.loads((out / "manifest.json").read_text())["files"]
    names = [f["name"] if isinstance(f, dict) else f for f in files] if isinstance(files, list) else list(files)
    assert "gbm.json" in names and "model.safetensors" not in names
    assert model.stats["metrics"]["test"]["species"]["accuracy"] > 0.9
    assert model.stats["gbm"]["boosters"]["species"]["rounds"] >= 1
    assert set(model.stats["gbm"]["gain"]["species"]) == {
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "sex",
    }
    again = load(out)
    a, b = model.predict(penguins), again.predict(penguins)
    pd.testing.assert_frame_equal(a, b)
    torch_engine = again.predict(penguins, engine="torch")
    assert (torch_engine["species::label"] == a["species::label"]).all()
    cols = [c for c in a.columns if "::probability::" in c]
    np.testing.assert_allclose(torch_engine[cols].to_numpy(), a[cols].to_numpy(), atol=1e-5)
    assert again.evaluate(penguins)["species"]["accuracy"] > 0.9


def test_gbm_regression_and_edge_rows(penguins, tmp_path):
    model = train(gbm_config({"name": "body_mass_g", "type": "number"}), penguins, output=tmp_path / "m")
    assert model.stats["metrics"]["test"]["body_mass_g"]["r2"] > 0.6
    hostile = pd.DataFrame(
        {
            "island": ["", "Atlantis", "Biscoe"],
            "bill_length_mm": [np.nan, np.inf, -1e30],
            "bill_depth_mm": [1e30, np.nan, 17.0],
            "flipper_length_mm": [-np.inf, 200.0, np.nan],
            "sex": ["", "unknown", "male"],
        }
    )
    onnx_out = load(tmp_path / "m").predict(hostile)["body_mass_g::value"].to_numpy()
    torch_out = load(tmp_path / "m").predict(hostile, engine="torch")["body_mass_g::value"].to_numpy()
    assert np.isfinite(onnx_out).all()
    np.testing.assert_allclose(onnx_out, torch_out, rtol=1e-5)


def test_gbm_refuses_text_inputs_in_one_line(penguins):
    cfg = gbm_config({"name": "species", "type": "category"})
    cfg["input_features"].append({"name": "island_text", "column": "island", "type": "text"})
    with pytest.raises(TkError, match="island_text") as e:
        train(cfg, penguins)
    assert "\n" not in str(e.value)


def test_gbm_config_errors_name_the_path():
    from toolkit.config.schema import validate_config

    with pytest.raises(TkError, match=r"gbm\.num_leaves"):
        validate_config(gbm_config({"name": "species", "type": "category"}, num_leaves=1))


def test_gbm_report_shows_gain_beside_permutation_importance(species_gbm, penguins, tmp_path):
    from toolkit.report.build import report

    _, out = species_gbm
    data = tmp_path / "penguins.csv"
    penguins.to_csv(data, index=False)
    page = report([out], data, tmp_path / "report", importance_repeats=2)
    assert (tmp_path / "report" / "species_gain.png").stat().st_size > 1000
    assert (tmp_path / "report" / "species_importance.png").is_file()
    assert "LightGBM gain" in page.read_text()


def test_gbm_parameters_are_searchable_by_dotted_path():
    from toolkit.hyperopt import apply

    base = gbm_config({"name": "species", "type": "category"})
    assert apply.check_path(base, "gbm.num_leaves") == ["gbm", "num_leaves"]
    assert apply.set_path(base, "gbm.learning_rate", 0.05)["gbm"]["learning_rate"] == 0.05
    with pytest.raises(apply.PathError, match="num_leaf"):
        apply.check_path(base, "gbm.num_leaf")


def test_model_type_auto_keeps_the_better_on_validation(penguins, tmp_path):
    from toolkit.scoring.metrics import better

    cfg = gbm_config({"name": "species", "type": "category"})
    cfg["model_type"] = "auto"
    cfg["trainer"] = {"epochs": 8}
    model = train(cfg, penguins, output=tmp_path / "m")
    auto = model.stats["auto"]
    assert auto["chosen"] in ("nn", "gbm") and auto["validation_metric"] == "species.loss"
    other = "gbm" if auto["chosen"] == "nn" else "nn"
    assert not better("loss", auto[other], auto[auto["chosen"]])
    assert load(tmp_path / "m").config.model_type == auto["chosen"]  # the directory holds the resolved config
    assert (tmp_path / "m" / ("gbm.json" if auto["chosen"] == "gbm" else "model.safetensors")).is_file()


def test_model_type_ensemble_averages_both_members_in_the_graph(penguins, tmp_path):
    cfg = gbm_config({"name": "body_mass_g", "type": "number"})
    cfg["model_type"] = "ensemble"
    cfg["trainer"] = {"epochs": 6}
    model = train(cfg, penguins, output=tmp_path / "m")
    info = model.stats["ensemble"]
    assert set(info) == {"validation_metric", "nn", "gbm", "ensemble"}
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"model.safetensors", "gbm.json", "model.onnx"} <= files
    again = load(tmp_path / "m")
    names = [f.config.name for f in again.inputs]
    assert names[:4] == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    assert "bill_length_mm__raw" in names  # the trees' own raw number feature on the same column
    core = again.model
    x = again.preprocessor.transform(
        {
            c: penguins[c].to_numpy(np.float32)
            if penguins[c].dtype.kind == "f"
            else penguins[c].fillna("").astype(str).to_numpy(dtype=object)
            for c in again.preprocessor.columns
        }
    )
    import torch

    pre = [torch.from_numpy(np.ascontiguousarray(x[n])) for n in names]
    with torch.no_grad():
        net = core.net(*pre[: core.n_net])[0].numpy()
        trees = core.gbm(*[pre[i] for i in core.gbm_index])[0].numpy()
    onnx_value = again.predict(penguins)["body_mass_g::value"].to_numpy()
    expected = again.outputs[0].predict((net + trees) / 2)["value"]
    np.testing.assert_allclose(onnx_value, expected, rtol=1e-5)
    assert again.evaluate(penguins)["body_mass_g"]["r2"] > 0.6


def test_a_gbm_refuses_more_rows_in_memory_than_tk_gbm_max_rows(monkeypatch):
    """TK_GBM_MAX_ROWS holds for a table in memory too (MemorySplit.arrays used to ignore it)."""
    monkeypatch.setenv("TK_GBM_MAX_ROWS", "50")
    df = pd.read_csv(PENGUINS / "penguins.csv")
    cfg = {
        "input_features": [{"name": "bill_length_mm", "type": "number"}],
        "output_features": [{"name": "species", "type": "category"}],
        "model_type": "gbm",
    }
    with pytest.raises(TkError, match=r"rows in one split; a gbm model trains on at most 50 \(TK_GBM_MAX_ROWS\)"):
        train(cfg, df)
