"""The final model learns from every row it may (trainer.refit), the metrics stay those of rows it did not
learn from, a binary threshold moves only when that is strictly better, and a class never predicted is said."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load as load_weights

from tests.conftest import PENGUINS
from toolkit import load, train
from toolkit.common import log
from toolkit.scoring import calibration as cal

log.quiet = True


def penguins_config(**trainer) -> dict:
    return {
        "input_features": [
            {"name": n, "type": "number"}
            for n in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
        ]
        + [{"name": "island", "type": "category"}],
        "output_features": [{"name": "species", "type": "category"}],
        "preprocessing": {"split": {"type": "random", "ratios": [0.6, 0.2, 0.2]}},
        "trainer": {"epochs": 6, "early_stop": 3, "batch_size": 32, **trainer},
    }


@pytest.fixture(scope="module")
def penguins():
    return pd.read_csv(PENGUINS / "penguins.csv")


def test_refit_trains_on_train_and_validation_and_keeps_the_first_models_metrics(penguins, tmp_path):
    first = train(penguins_config(refit=False), penguins, output=tmp_path / "first")
    again = train(penguins_config(), penguins, output=tmp_path / "again")
    rows = again.stats["data"]["rows_per_split"]
    assert again.stats["refit"]["rows"] == rows["train"] + rows["validation"]
    assert again.stats["refit"]["epochs"] == first.stats["best_epoch"]
    assert "refit" not in first.stats
    assert again.stats["metrics"] == first.stats["metrics"]  # the same first model scored the same rows
    a = load_weights((tmp_path / "first" / "model.safetensors").read_bytes())
    b = load_weights((tmp_path / "again" / "model.safetensors").read_bytes())
    assert a.keys() == b.keys() and any(not np.array_equal(a[k], b[k]) for k in a)  # other weights
    reloaded = load(tmp_path / "again")  # and the saved file answers like the refit model
    assert np.array_equal(reloaded.predict(penguins)["species::label"], again.predict(penguins)["species::label"])


def test_gbm_refit_grows_the_rounds_the_first_fit_found_on_all_rows(penguins):
    cfg = penguins_config() | {"model_type": "gbm"}
    model = train(cfg, penguins)
    first_rounds = [b["rounds"] for b in model.stats["gbm"]["boosters"].values()]
    assert model.stats["refit"]["rounds"] == first_rounds
    rows = model.stats["data"]["rows_per_split"]
    assert model.stats["refit"]["rows"] == rows["train"] + rows["validation"]
    kept = train(cfg | {"trainer": cfg["trainer"] | {"refit": False}}, penguins)
    assert kept.stats["metrics"] == model.stats["metrics"]
    assert not np.allclose(
        kept.predict(penguins).filter(like="probability").to_numpy(),
        model.predict(penguins).filter(like="probability").to_numpy(),
    )


def test_ensemble_refits_both_members_and_scores_the_first_pair(penguins):
    cfg = penguins_config() | {"model_type": "ensemble"}
    model = train(cfg, penguins)
    assert set(model.stats["refit"]) == {"nn", "gbm"}
    kept = train(cfg | {"trainer": cfg["trainer"] | {"refit": False}}, penguins)
    assert kept.stats["metrics"] == model.stats["metrics"]


def test_no_validation_rows_no_refit(penguins):
    cfg = penguins_config()
    cfg["preprocessing"]["split"]["ratios"] = [0.8, 0.0, 0.2]
    assert "refit" not in train(cfg, penguins).stats


def test_the_default_split_holds_no_test_rows_and_the_model_learns_from_all(penguins):
    cfg = penguins_config()
    del cfg["preprocessing"]
    model = train(cfg, penguins)
    rows = model.stats["data"]["rows_per_split"]
    assert rows["test"] == 0 and model.stats["refit"]["rows"] == rows["train"] + rows["validation"] == len(penguins)


def test_the_threshold_stays_at_half_unless_another_cut_off_is_strictly_better():
    p = np.r_[np.full(50, 0.1), np.full(50, 0.9)]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    assert cal.best_threshold(y, p, "accuracy") == 0.5  # every cut-off in (0.1, 0.9] ties: 0.5 stays
    p2 = np.r_[p, np.full(20, 0.6)]  # 20 more rows at 0.6, all false: a cut-off above 0.6 is strictly better
    y2 = np.r_[y, np.zeros(20, int)]
    assert 0.6 < cal.best_threshold(y2, p2, "accuracy") <= 0.9
    assert cal.best_threshold(np.zeros(10, int), p[:10], "accuracy") == 0.5  # one class: nothing to choose


def test_a_binary_model_that_never_predicts_a_class_moves_its_threshold_or_says_so(tmp_path):
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.normal(size=n)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-(1.5 * x - 2.2))), "yes", "no")  # ~15 % yes, weak signal
    df = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "y": y})
    cfg = {
        "input_features": [{"name": "x", "type": "number"}, {"name": "noise", "type": "number"}],
        "output_features": [{"name": "y", "type": "binary"}],
        "trainer": {"epochs": 5, "batch_size": 64},
    }
    fixed = train(cfg | {"output_features": [{"name": "y", "type": "binary", "threshold": 0.9}]}, df)
    assert fixed.stats["never_predicted"] == {"y": ["yes"]}
    auto = train(cfg, df)  # threshold: auto (the default)
    threshold = auto.stats["calibration"]["y"]["threshold"]
    labels = auto.predict(df)["y::label"]
    assert "never_predicted" not in auto.stats and (labels == "yes").any()
    assert auto.outputs[0].threshold == threshold and threshold != 0.9


def test_mcc_the_default_threshold_metric_never_leaves_a_rare_class_unpredicted():
    """5 % positives scored above most negatives but below 0.5: the most accurate cut-off answers one class,
    the MCC one (the default) answers both."""
    from toolkit.features.binary import BinaryOutputConfig

    p = np.r_[np.linspace(0.0, 0.4, 950), np.linspace(0.2, 0.4, 50)]
    y = np.r_[np.zeros(950, int), np.ones(50, int)]
    assert cal.best_threshold(y, p, "accuracy") == 0.5 and not (p >= 0.5).any()
    t = cal.best_threshold(y, p, "mcc")
    assert 0.15 <= t < 0.4 and 0 < (p >= t).sum() < len(p)
    cfg = BinaryOutputConfig(name="y", type="binary")
    assert cfg.threshold == "auto" and cfg.threshold_metric == "mcc"


def test_the_chosen_threshold_is_in_the_files_metadata(penguins, tmp_path):
    """A client reading model.onnx alone can tell where a binary label flips (threshold: auto moved it)."""
    from toolkit.runtime.predictor import Predictor

    df = penguins.assign(big=np.where(penguins["body_mass_g"] > 4500, "yes", "no"))
    cfg = {
        "input_features": [{"name": "flipper_length_mm", "type": "number"}],
        "output_features": [{"name": "big", "type": "binary"}],
        "trainer": {"epochs": 3},
    }
    model = train(cfg, df, output=tmp_path / "m")
    meta = Predictor(tmp_path / "m" / "model.onnx").metadata["tk.features"]["outputs"][0]
    assert (
        meta["threshold"] == pytest.approx(model.outputs[0].threshold) == model.stats["calibration"]["big"]["threshold"]
    )
