"""Training for real on the bundled examples: metrics, determinism, artifacts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import CHURN, PENGUINS
from toolkit import load, train
from toolkit.common import log
from toolkit.errors import TkError


def test_churn_reaches_roc_auc(churn_model):
    model, _ = churn_model
    auc = model.stats["metrics"]["test"]["churn"]["roc_auc"]
    assert auc >= 0.84, f"churn test ROC AUC {auc:.4f} < 0.84"


def test_penguins_reaches_accuracy(penguins_model):
    model, _ = penguins_model
    acc = model.stats["metrics"]["test"]["species"]["accuracy"]
    assert acc >= 0.95, f"penguins test accuracy {acc:.4f} < 0.95"


def test_evaluate_on_test_rows_matches_training_stats(churn_model, tmp_path):
    """The test metrics training records are the model's that learned from the train rows alone: exactly what
    `evaluate` gives without a refit; the refit model (the default, saved) learned from the validation rows too
    and scores the same test rows close to it."""
    model, out = churn_model
    df = pd.read_csv(CHURN / "churn.csv")
    recorded = model.stats["metrics"]["test"]["churn"]["roc_auc"]
    refit = load(out).evaluate(df[df["split"] == "test"])["churn"]["roc_auc"]
    assert "refit" in model.stats and refit == pytest.approx(recorded, abs=0.01)
    first_cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    first_cfg["trainer"]["refit"] = False
    first_cfg["dataset"] = str(CHURN / "churn.csv")
    first = train(first_cfg, output=tmp_path / "first")
    assert load(tmp_path / "first").evaluate(df[df["split"] == "test"])["churn"]["roc_auc"] == pytest.approx(
        first.stats["metrics"]["test"]["churn"]["roc_auc"], abs=1e-9
    )
    assert first.stats["metrics"] == model.stats["metrics"]


def test_loaded_model_predicts_like_the_trained_one(churn_model):
    model, out = churn_model
    df = pd.read_csv(CHURN / "churn.csv").head(200)
    before, after = model.predict(df), load(out).predict(df)
    pd.testing.assert_frame_equal(before, after)
    by_torch = load(out).predict(df, engine="torch")
    assert (by_torch["churn::label"] == after["churn::label"]).all()
    np.testing.assert_allclose(by_torch["churn::probability::Yes"], after["churn::probability::Yes"], atol=1e-5)
    probs = after[["churn::probability::No", "churn::probability::Yes"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert set(after["churn::label"]) <= {"Yes", "No"}
    threshold = model.outputs[0].threshold  # threshold: auto, chosen on the validation rows and written in the graph
    assert threshold == model.stats["calibration"]["churn"]["threshold"]
    assert (after["churn::label"] == np.where(probs[:, 1] >= threshold, "Yes", "No")).all()


def test_model_directory_holds_the_documented_files(churn_model):
    _, out = churn_model
    names = {p.name for p in out.iterdir()}
    assert names == {
        "config.yaml",
        "features.json",
        "model.safetensors",
        "training_stats.json",
        "model.onnx",
        "manifest.json",
        "explain.json",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"}
    assert manifest["versions"]["torch"].startswith("2.")
    assert not any(p.suffix in (".pkl", ".pt", ".pickle") for p in out.iterdir())


def test_same_seed_gives_bit_identical_weights(tmp_path):
    log.quiet = True
    a = train(PENGUINS / "config.yaml", output=tmp_path / "a")
    b = train(PENGUINS / "config.yaml", output=tmp_path / "b")
    wa, wb = (tmp_path / "a" / "model.safetensors").read_bytes(), (tmp_path / "b" / "model.safetensors").read_bytes()
    assert wa == wb
    assert a.stats["best_epoch"] == b.stats["best_epoch"]


def test_other_seed_gives_other_weights(tmp_path):
    import yaml

    log.quiet = True
    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = str(PENGUINS / "penguins.csv")
    cfg["trainer"]["epochs"] = 2
    a = train(cfg, output=tmp_path / "a")
    cfg["trainer"]["seed"] = 43
    b = train(cfg, output=tmp_path / "b")
    assert (tmp_path / "a" / "model.safetensors").read_bytes() != (tmp_path / "b" / "model.safetensors").read_bytes()
    assert a.stats["epochs"][0]["train_loss"] != b.stats["epochs"][0]["train_loss"]


@pytest.mark.parametrize("victim", ["model.safetensors", "features.json", "config.yaml"])
def test_a_changed_byte_is_refused_naming_the_file(churn_model, tmp_path, victim):
    import shutil

    _, out = churn_model
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    data = bytearray((copy / victim).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / victim).write_bytes(bytes(data))
    with pytest.raises(TkError, match=victim.replace(".", r"\.")):
        load(copy)


def test_a_directory_without_manifest_is_incomplete(churn_model, tmp_path):
    import shutil

    _, out = churn_model
    copy = tmp_path / "m"
    shutil.copytree(out, copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(TkError, match="incomplete model directory"):
        load(copy)


def test_output_over_a_non_model_directory_is_refused(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(TkError, match="not a tk model"):
        train(PENGUINS / "config.yaml", output=tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_dataframe_and_multiple_formats_train_alike(tmp_path):
    """CSV, Parquet and JSON lines of the same rows give the same model."""
    import yaml

    log.quiet = True
    df = pd.read_csv(PENGUINS / "penguins.csv")
    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = None
    cfg["trainer"]["epochs"] = 3
    df.to_parquet(tmp_path / "p.parquet")
    df.to_json(tmp_path / "p.jsonl", orient="records", lines=True)
    df.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    ref = train(cfg, df).stats["metrics"]["test"]["species"]["loss"]
    for name in ("p.parquet", "p.jsonl", "p.tsv"):
        got = train(cfg, tmp_path / name).stats["metrics"]["test"]["species"]["loss"]
        assert got == pytest.approx(ref, rel=1e-6), name
