"""Distributed training (issue 9): `tk train --nproc 2` runs 2 DDP workers (gloo, CPU) through
torch's elastic launcher, and gives one normal model directory whose test ROC AUC is within
0.01 of a 1-process model trained on the same stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tests.conftest import CHURN


@pytest.fixture(scope="module")
def churn_cfg(tmp_path_factory):
    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg["dataset"] = str(CHURN / "churn.csv")
    cfg["trainer"]["epochs"] = 5
    path = tmp_path_factory.mktemp("ddp") / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_two_processes_match_one(churn_cfg, tmp_path):
    from toolkit import api, log
    from toolkit.runtime import Predictor

    log.quiet = True
    one = api.train(churn_cfg, output=tmp_path / "one", stream=True)
    env = dict(os.environ, WORLD_SIZE="1")
    env.pop("WORLD_SIZE")
    run = subprocess.run([sys.executable, "-m", "toolkit.cli", "train", str(churn_cfg), "-o", str(tmp_path / "two"),
                          "--nproc", "2", "-q"], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    stats = json.loads((tmp_path / "two" / "training_stats.json").read_text())
    assert stats["data"]["processes"] == 2
    assert stats["data"]["rows_per_split"] == one.stats["data"]["rows_per_split"]
    # every training row seen once per epoch, over both ranks together
    assert stats["epochs"][0]["rows"] == one.stats["data"]["rows_per_split"]["train"]
    auc_two = stats["metrics"]["test"]["churn"]["roc_auc"]
    auc_one = one.stats["metrics"]["test"]["churn"]["roc_auc"]
    assert auc_one > 0.8 and abs(auc_two - auc_one) <= 0.01, (auc_one, auc_two)
    # one normal model directory: its model.onnx predicts in onnxruntime, and only rank 0 wrote it
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    assert not (tmp_path / "two.checkpoint").exists()
    outs = Predictor(tmp_path / "two").run(pd.read_csv(CHURN / "churn.csv").head(20))
    assert outs["churn::probabilities"].shape == (20, 2)


def test_a_bad_config_fails_before_any_worker_starts(tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("input_features: [{name: a, type: nope}]\noutput_features: [{name: b, type: binary}]\n")
    run = CliRunner().invoke(app, ["train", str(bad), "--nproc", "2", "-o", str(tmp_path / "m")])
    assert run.exit_code == 2 and "input_features[0]" in run.output, run.output
    assert not (tmp_path / "m").exists()
