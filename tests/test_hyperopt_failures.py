"""`tk hyperopt` under failure (issue 16): the best model and its marker change together, the storage
password is never printed, and a trial left unlabelled by a kill is failed and run again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.test_hyperopt import penguins_search, read_trials, run_cli


def test_best_model_and_its_marker_change_together(tmp_path):
    """A swap cut short where the marker is written (a directory stands where its temp file goes, in
    the output folder and in the trial's folder) never leaves best_model/ under another trial's marker."""
    import shutil

    from toolkit.hyperopt import worker

    out = tmp_path / "search"
    out.mkdir()
    job = {"output": str(out), "study_name": "tk-s", "direction": "maximize"}

    def trial(name: str) -> Path:
        folder = out / ".trials" / name
        folder.mkdir(parents=True)
        (folder / "which.txt").write_text(name)
        return folder

    worker.keep_if_best(trial("a"), 0.5, 1, job)
    assert worker.read_marker(out)["trial"] == 1 and (out / "best_model" / "which.txt").read_text() == "a"
    b = trial("b")
    blockers = [folder / f".{worker.BEST_MARKER}.tmp-{os.getpid()}" for folder in (out, b)]
    for blocker in blockers:
        blocker.mkdir()
    with pytest.raises(OSError):
        worker.keep_if_best(b, 0.9, 2, job)
    for folder in (out, b, out / "best_model"):  # wherever the swap left them
        shutil.rmtree(folder / f".{worker.BEST_MARKER}.tmp-{os.getpid()}", ignore_errors=True)
    marker, holds = worker.read_marker(out), (out / "best_model" / "which.txt").read_text()
    assert (marker["trial"], holds) in ((1, "a"), (2, "b")), (
        f"marker says trial {marker['trial']}, best_model holds {holds}"
    )

    worker.keep_if_best(b, 0.9, 2, job)  # the same swap, uninterrupted
    assert worker.read_marker(out) == {"study": "tk-s", "trial": 2, "value": 0.9}
    assert (out / "best_model" / "which.txt").read_text() == "b"
    assert json.loads((out / "best_trial.json").read_text())["trial"] == 2  # the readers' copy


def test_the_storage_password_is_never_printed(tmp_path):
    code, output = run_cli(
        penguins_search(tmp_path), "-o", tmp_path / "search", "--storage", "postgresql://tk:s3cret@127.0.0.1:1/optuna"
    )
    assert code == 2, output
    assert "cannot open the study" in output and "tk:***@127.0.0.1:1" in output, output
    assert "s3cret" not in output

    from toolkit.hyperopt.study import mask_url

    assert mask_url("postgresql://tk:s3cret@db:5432/optuna") == "postgresql://tk:***@db:5432/optuna"
    assert mask_url("mysql+pymysql://u:p%40ss@h/db") == "mysql+pymysql://u:***@h/db"
    assert mask_url("sqlite:////tmp/study.db") == "sqlite:////tmp/study.db"


def test_a_trial_left_unlabelled_by_a_kill_is_failed_and_run_again(tmp_path):
    """A kill between `study.ask()` and the trial's worker label left a RUNNING trial that no
    process owned: it used to count as running for ever, so the search ran one trial short."""
    import optuna

    config, out = penguins_search(tmp_path, trials=1, epochs=1), tmp_path / "search"
    code, output = run_cli(config, "-o", out)
    assert code == 0, output
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{out / 'study.db'}")
    orphan = study.ask()  # what the killed process left: RUNNING, no "worker" label

    code, output = run_cli(config, "-o", out, "--trials", "2")
    assert code == 0, output
    rows = read_trials(out)
    assert [(int(r["number"]), r["state"]) for r in rows] == [
        (0, "COMPLETE"),
        (orphan.number, "FAIL"),
        (2, "COMPLETE"),
    ], (rows, output)
