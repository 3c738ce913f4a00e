"""Temperature scaling and threshold: auto, fitted on validation rows and written into the ONNX graph."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import CHURN, PENGUINS
from toolkit import load, train
from toolkit.common import log
from toolkit.scoring import calibration as cal

log.quiet = True


def test_fit_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    z = rng.normal(size=5000) * 2.0
    y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(int)  # calibrated at T = 1
    t = cal.fit_temperature(z * 3.0, y)  # three times too confident
    assert t == pytest.approx(3.0, rel=0.1)
    assert cal.log_loss(y, cal.probabilities(z * 3.0 / t)) < cal.log_loss(y, cal.probabilities(z * 3.0))
    assert cal.expected_calibration_error(y, cal.probabilities(z * 3.0 / t)) < cal.expected_calibration_error(
        y, cal.probabilities(z * 3.0)
    )


def test_fit_temperature_multiclass_and_degenerate_inputs():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3000, 4)) * 1.5
    p = cal.probabilities(z)
    y = np.array([rng.choice(4, p=row) for row in p])
    assert cal.fit_temperature(z * 0.5, y) == pytest.approx(0.5, rel=0.15)  # under-confident: T < 1
    assert cal.fit_temperature(z[:1], y[:1]) == 1.0
    assert cal.fit_temperature(z, np.zeros(len(z))) == 1.0


def test_best_threshold_maximises_the_metric():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(2)
    y = (rng.random(2000) < 0.15).astype(int)
    p = np.clip(0.1 + 0.35 * y + rng.normal(0, 0.12, 2000), 0, 1)
    t = cal.best_threshold(y, p, "f1")
    grid = np.linspace(0.05, 0.95, 181)
    assert f1_score(y, p >= t) >= max(f1_score(y, p >= c) for c in grid) - 0.01
    assert t < 0.5  # rare positives: the F1 cut-off sits below 0.5


def test_churn_with_temperature_and_auto_threshold_in_the_graph(tmp_path):
    import yaml

    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg["dataset"] = str(CHURN / "churn.csv")
    cfg["trainer"]["epochs"] = 4
    cfg["output_features"][0] |= {"calibration": "temperature", "threshold": "auto"}
    model = train(cfg, output=tmp_path / "m")
    fitted = model.stats["calibration"]["churn"]
    state = json.loads((tmp_path / "m" / "features.json").read_text())["outputs"]["churn"]
    assert state["temperature"] == fitted["temperature"] > 0 and state["threshold"] == fitted["threshold"]
    assert {"ece_before", "ece_after"} <= set(fitted)
    df = pd.read_csv(CHURN / "churn.csv").head(300)
    again = load(tmp_path / "m")
    onnx_out = again.predict(df)
    torch_out = again.predict(df, engine="torch")  # predict() in numpy: logits / T, then the threshold
    np.testing.assert_allclose(
        onnx_out.filter(like="probability").to_numpy(), torch_out.filter(like="probability").to_numpy(), atol=1e-5
    )
    p_true = onnx_out[f"churn::probability::{again.outputs[0].classes[1]}"].to_numpy()
    want = np.where(p_true >= fitted["threshold"], again.outputs[0].classes[1], again.outputs[0].classes[0])
    assert (onnx_out["churn::label"].to_numpy() == want).all()
    assert {"log_loss", "ece"} <= set(again.evaluate(df)["churn"])


def test_category_temperature_keeps_the_argmax(tmp_path):
    import yaml

    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = str(PENGUINS / "penguins.csv")
    cfg["trainer"]["epochs"] = 6
    plain = train(cfg)
    cfg["output_features"][0]["calibration"] = "temperature"
    calibrated = train(cfg, output=tmp_path / "m")
    assert calibrated.stats["calibration"]["species"]["temperature"] > 0
    a = plain.stats["metrics"]["test"]["species"]
    b = calibrated.stats["metrics"]["test"]["species"]
    assert a["accuracy"] == b["accuracy"]  # one temperature keeps every row's argmax
    assert b["roc_auc"] == pytest.approx(a["roc_auc"], abs=0.01)  # one-vs-rest AUC may move a little
    assert b["log_loss"] <= a["log_loss"] + 0.02


def test_threshold_out_of_range_is_a_config_error():
    from toolkit.config.schema import validate_config
    from toolkit.errors import TkError

    with pytest.raises(TkError, match=r"output_features\[0\]\.threshold: .*got 1\.5"):
        validate_config(
            {
                "input_features": [{"name": "x", "type": "number"}],
                "output_features": [{"name": "y", "type": "binary", "threshold": 1.5}],
            }
        )
