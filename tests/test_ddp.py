"""Distributed training (issue 9): `tk train --nproc 2` runs 2 DDP workers (gloo, CPU) through
torch's elastic launcher, and gives one normal model directory whose test ROC AUC is within
0.01 of a 1-process model trained on the same stream. A killed 2-process run resumes on both
ranks and ends with the uninterrupted run's weights; workers die with their launcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import CHURN, PENGUINS

SUMMARY = "metrics per split"  # the title of the table `tk train` prints at the end


def _env() -> dict:
    env = dict(os.environ)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(name, None)
    return env


def tk(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli.main", *args]


@pytest.fixture(scope="module")
def churn_cfg(tmp_path_factory):
    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg["dataset"] = str(CHURN / "churn.csv")
    cfg["trainer"]["epochs"] = 5
    path = tmp_path_factory.mktemp("ddp") / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_two_processes_match_one(churn_cfg, tmp_path):
    from toolkit import api
    from toolkit.common import log
    from toolkit.runtime.predictor import Predictor

    log.quiet = True
    one = api.train(churn_cfg, output=tmp_path / "one", stream=True)
    run = subprocess.run(
        tk("train", str(churn_cfg), "-o", str(tmp_path / "two"), "--nproc", "2"),
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    # only rank 0 logs and prints the summary table
    assert run.stderr.count(SUMMARY) == 1 and run.stderr.count("epoch   1/5") == 1, run.stderr[-3000:]
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


# ---- interruptions ---------------------------------------------------------------------


def _workers(launcher: int) -> list[int]:
    """PIDs of the launcher's children that run toolkit.cli.main (the workers, in sessions of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == launcher and b"toolkit.cli.main" in cmd:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has stopped; whoever adopted it has not reaped it yet


def _start_and_signal(argv: list[str], state: Path, epoch: int, sig: int):
    """Start a `--nproc 2` run, send `sig` to its launcher once the checkpoint holds `epoch`;
    returns (launcher exit code, stderr, the epoch checkpointed, whether the workers were gone
    within 10 s). Any process left is killed by PID."""
    proc = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=_env(), start_new_session=True
    )
    workers: list[int] = []
    done = 0
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                done = json.loads(state.read_text())["epoch"]
            except (FileNotFoundError, ValueError, KeyError):
                done = 0
            if done >= epoch:
                workers = _workers(proc.pid)
                os.kill(proc.pid, sig)
                break
            time.sleep(0.02)
        err = proc.communicate(timeout=60)[1]
        gone_by = time.time() + 10
        while any(_alive(p) for p in workers) and time.time() < gone_by:
            time.sleep(0.05)
        return proc.returncode, err, done, len(workers) == 2 and not any(_alive(p) for p in workers)
    finally:
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=10)


def test_a_killed_two_process_run_resumes_on_both_ranks(tmp_path):
    """SIGKILL to the launcher after epoch 3 (its workers die with it), `--resume` stopped by SIGTERM
    after epoch 6 (one line, exit 143), `--resume` again: all 30 epochs, and the very same weights as an
    uninterrupted 2-process run (batches and dropout are seeded by (seed, epoch, rank))."""
    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = str(PENGUINS / "penguins.csv")
    cfg["trainer"] |= {"epochs": 30, "early_stop": 0}
    cfg["preprocessing"]["split"]["type"] = "random"  # what streaming draws (no warning to filter out)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    subprocess.run(
        tk("train", str(path), "-o", str(tmp_path / "straight"), "--nproc", "2", "-q"),
        check=True,
        timeout=300,
        env=_env(),
        capture_output=True,
    )

    out, state = tmp_path / "killed", tmp_path / "killed.checkpoint" / "state.json"
    train = tk("train", str(path), "-o", str(out), "--nproc", "2", "-q")
    rc, err, epoch, workers_gone = _start_and_signal(train, state, 3, signal.SIGKILL)
    assert rc == -signal.SIGKILL and 3 <= epoch < 30, (rc, epoch, err[-2000:])
    assert workers_gone, "the workers outlived their SIGKILLed launcher"
    assert not out.exists(), "a killed run must not leave a model directory"

    rc, err, epoch, workers_gone = _start_and_signal(train + ["--resume"], state, 6, signal.SIGTERM)
    assert rc == 143 and 6 <= epoch < 30, (rc, epoch, err[-2000:])
    assert "Traceback" not in err and [line for line in err.splitlines() if line.strip()] == [
        "error: --nproc 2: stopped by SIGTERM; the workers were stopped"
    ], err[-2000:]
    assert workers_gone and not out.exists()

    resumed = subprocess.run(train + ["--resume"], capture_output=True, text=True, timeout=180, env=_env())
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    stats = json.loads((out / "training_stats.json").read_text())
    assert [e["epoch"] for e in stats["epochs"]] == list(range(1, 31))
    straight = json.loads((tmp_path / "straight" / "training_stats.json").read_text())
    assert stats["metrics"] == straight["metrics"]
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model.safetensors").read_bytes()
    assert not (tmp_path / "killed.checkpoint").exists()


def test_a_bad_config_fails_before_any_worker_starts(tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("input_features: [{name: a, type: nope}]\noutput_features: [{name: b, type: binary}]\n")
    run = CliRunner().invoke(app, ["train", str(bad), "--nproc", "2", "-o", str(tmp_path / "m")])
    assert run.exit_code == 2 and "input_features[0]" in run.output, run.output
    assert not (tmp_path / "m").exists()
