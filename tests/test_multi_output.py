"""Several outputs in one model: examples/diamonds predicts `price` (a number) and `cut` (5 classes).

The model is trained once on a seeded 10,000-row sample of the bundled CSV
(about 10-20 s on 2 cores) and saved; the tests check its metrics, the
early stopping by a named output's metric, predict / evaluate / save / load,
and the loss weights.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from toolkit import load, train
from toolkit.common import log

DIAMONDS = ROOT / "examples" / "diamonds"
CUTS = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
SAMPLE_ROWS = 10_000


def diamonds_config(**trainer) -> dict:
    cfg = yaml.safe_load((DIAMONDS / "config.yaml").read_text())
    cfg["dataset"] = None
    # the 10,000-row sample takes the smaller batches (and their learning rate) the full data does not need
    # refit off: these tests compare the saved model's answers with the metrics training recorded, which are
    # the first model's (tests/test_refit.py holds the refit)
    cfg["trainer"] |= {"epochs": 20, "batch_size": 256, "learning_rate": 2e-3, "refit": False, **trainer}
    return cfg


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(DIAMONDS / "diamonds.csv").sample(n=SAMPLE_ROWS, random_state=0)


@pytest.fixture(scope="module")
def diamonds(sample, tmp_path_factory):
    """(model, model dir) trained on the sample with the example config."""
    log.quiet = True
    out = tmp_path_factory.mktemp("runs") / "diamonds"
    return train(diamonds_config(), sample, output=out), out


def test_example_config_has_two_outputs_and_the_whole_csv():
    from toolkit.config.schema import load_config

    cfg = load_config(DIAMONDS / "config.yaml")
    assert [(f.name, f.type) for f in cfg.output_features] == [("price", "number"), ("cut", "category")]
    assert cfg.trainer.validation_metric == "cut.accuracy"
    assert len(pd.read_csv(DIAMONDS / cfg.dataset)) == 53_940


def test_both_outputs_learn(diamonds, sample):
    model, _ = diamonds
    test = model.stats["metrics"]["test"]
    assert test["price"]["r2"] >= 0.9, test["price"]
    majority = sample["cut"].value_counts(normalize=True).max()  # Ideal, about 0.40
    assert test["cut"]["accuracy"] >= majority + 0.15, (test["cut"], majority)
    assert test["cut"]["roc_auc"] >= 0.8, test["cut"]


def test_early_stopping_follows_the_named_output_metric(diamonds):
    model, _ = diamonds
    stats = model.stats
    assert stats["validation_metric"] == "cut.accuracy"
    per_epoch = [e["validation"]["cut"]["accuracy"] for e in stats["epochs"]]
    assert stats["best_value"] == max(per_epoch)
    assert stats["best_epoch"] == 1 + per_epoch.index(max(per_epoch))
    # the weights kept are those of the best epoch
    assert stats["metrics"]["validation"]["cut"]["accuracy"] == pytest.approx(stats["best_value"], abs=1e-12)
    # each epoch records every output's validation loss
    assert all(set(e["validation"]) == {"price", "cut"} for e in stats["epochs"])


def test_predict_gives_a_value_and_a_label_with_probabilities(diamonds, sample):
    model, _ = diamonds
    rows = sample.head(300)
    pred = model.predict(rows)
    assert list(pred.columns) == ["price::value", "cut::label"] + [
        f"cut::probability::{c}" for c in model.outputs[1].classes
    ]
    assert sorted(model.outputs[1].classes) == sorted(CUTS)
    assert len(pred) == len(rows) and (pred.index == rows.index).all()
    assert pred["price::value"].dtype.kind == "f" and np.isfinite(pred["price::value"]).all()
    probs = pred.filter(like="cut::probability::").to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert set(pred["cut::label"]) <= set(CUTS)
    best = np.array(model.outputs[1].classes, dtype=object)[probs.argmax(axis=1)]
    assert (pred["cut::label"].to_numpy() == best).all()
    # the prices are in dollars, not z-scores
    rel = np.abs(pred["price::value"] - rows["price"]) / rows["price"]
    assert np.median(rel) < 0.2


def test_saved_model_predicts_and_evaluates_the_same(diamonds, sample):
    model, out = diamonds
    loaded = load(out)
    rows = sample.head(500)
    before, after = model.predict(rows), loaded.predict(rows)
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-5, atol=1e-5)
    assert (before["cut::label"] == after["cut::label"]).all()
    metrics = loaded.evaluate(rows)
    assert set(metrics) == {"price", "cut"}
    assert {"mae", "rmse", "r2"} <= set(metrics["price"])
    assert {"accuracy", "macro_f1", "roc_auc"} <= set(metrics["cut"])


def test_onnx_and_torch_engines_agree_on_both_outputs(diamonds, sample):
    model, out = diamonds
    rows = sample.head(500)
    onnx, torch_ = load(out).predict(rows), model.predict(rows, engine="torch")
    assert list(onnx.columns) == list(torch_.columns)
    assert (onnx["cut::label"] == torch_["cut::label"]).all()
    np.testing.assert_allclose(onnx["price::value"], torch_["price::value"], rtol=1e-5)
    np.testing.assert_allclose(onnx.filter(like="::probability::"), torch_.filter(like="::probability::"), atol=1e-5)


def test_evaluate_on_the_test_rows_matches_the_training_stats(diamonds, sample):
    from toolkit.config.schema import load_config
    from toolkit.training.fitting import table_split

    model, out = diamonds
    split = table_split(load_config(diamonds_config()), sample, "sample")
    metrics = load(out).evaluate(sample[split == 2])
    expected = model.stats["metrics"]["test"]
    assert metrics["cut"]["accuracy"] == pytest.approx(expected["cut"]["accuracy"], abs=1e-3)
    assert metrics["price"]["r2"] == pytest.approx(expected["price"]["r2"], abs=1e-4)


def test_cli_evaluate_reports_both_outputs(diamonds, sample, tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    _, out = diamonds
    data = tmp_path / "rows.csv"
    sample.head(200).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["evaluate", str(out), "--dataset", str(data), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == {"price", "cut"}


def test_total_loss_weighs_each_output():
    import torch

    from toolkit.config.schema import load_config
    from toolkit.features.columns import make_features
    from toolkit.training import loop as trainer

    cfg = diamonds_config()
    cfg["output_features"][0]["loss_weight"] = 3.0
    cfg["output_features"][1]["loss_weight"] = 0.5
    _, outputs = make_features(load_config(cfg))
    outputs[1].classes_, outputs[1].weights_ = CUTS, None
    losses = [f.loss() for f in outputs]
    preds = [torch.tensor([0.5, -1.0, 2.0]), torch.tensor([[2.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0], [0, 0, 0, 0, 3.0]])]
    ys = [torch.tensor([0.0, -1.0, float("nan")]), torch.tensor([0.0, 1.0, 4.0])]
    total, parts = trainer.total_loss(outputs, losses, preds, ys)
    assert parts[0] == pytest.approx(0.125)  # MSE over the two rows that have a price
    assert float(total) == pytest.approx(3.0 * parts[0] + 0.5 * parts[1])


def test_early_stopping_can_follow_the_other_output(sample):
    """The same model stopped by price's R² instead of cut's accuracy."""
    log.quiet = True
    cfg = diamonds_config(epochs=2, validation_metric="price.r2")
    model = train(cfg, sample.head(2_000))
    assert model.stats["validation_metric"] == "price.r2"
    assert model.stats["best_value"] == max(e["validation"]["price"]["r2"] for e in model.stats["epochs"])
