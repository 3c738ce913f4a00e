"""Kill training mid-way (SIGKILL), resume, and end with the very same weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import CHURN


def config_file(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg["dataset"] = str(CHURN / "churn.csv")
    cfg["trainer"] |= {"epochs": 14, "early_stop": 0, "batch_size": 128}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def tk(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli.main", *args]


def test_resume_after_sigkill_gives_identical_weights(tmp_path):
    cfg = config_file(tmp_path)
    subprocess.run(tk("train", str(cfg), "-o", str(tmp_path / "straight"), "-q"), check=True, timeout=300)

    out = tmp_path / "killed"
    state = tmp_path / "killed.checkpoint" / "state.json"
    proc = subprocess.Popen(tk("train", str(cfg), "-o", str(out), "-q"), stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    epoch = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            epoch = json.loads(state.read_text())["epoch"]
        except (FileNotFoundError, ValueError, KeyError):
            epoch = 0
        if epoch >= 4:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert 4 <= epoch < 14
    assert not out.exists(), "a killed run must not leave a model directory"

    resumed = subprocess.run(
        tk("train", str(cfg), "-o", str(out), "--resume"), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model.safetensors").read_bytes()
    stats = json.loads((out / "training_stats.json").read_text())
    assert [e["epoch"] for e in stats["epochs"]] == list(range(1, 15))
    assert not (tmp_path / "killed.checkpoint").exists(), "the checkpoint is removed once the model is written"
