"""`tk hyperopt`: a real Optuna study on penguins (tiny epochs), parallel, resumed, and its bad inputs."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import PENGUINS
from toolkit.cli.main import app

PNG = b"\x89PNG\r\n\x1a\n"


def penguins_search(tmp_path, trials: int = 4, epochs: int = 3, **hyperopt) -> str:
    """A penguins config with a 3-parameter search; returns the YAML's path."""
    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = str(PENGUINS / "penguins.csv")
    cfg["trainer"] = {"batch_size": 32, "epochs": epochs, "early_stop": 0}
    cfg["hyperopt"] = {
        "metric": "species.accuracy",
        "trials": trials,
        "sampler": "random",
        "seed": 3,
        "parameters": {
            "trainer.learning_rate": {"space": "loguniform", "low": 1e-4, "high": 3e-2},
            "combiner.hidden_size": {"space": "int", "low": 8, "high": 32, "step": 8},
            "input_features.island.encoder.dim": {"space": "choice", "values": [2, 4]},
        },
        **hyperopt,
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def run_cli(*argv):
    result = CliRunner().invoke(app, ["hyperopt", *map(str, argv)])
    return result.exit_code, result.output


def read_trials(out):
    with open(out / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_two_jobs_finish_and_write_every_output(tmp_path):
    from toolkit import api
    from toolkit.config.schema import load_config
    from toolkit.data.tables import read_table

    out = tmp_path / "search"
    code, output = run_cli(penguins_search(tmp_path), "-o", out, "--jobs", "2")
    assert code == 0, output

    rows = read_trials(out)
    assert [int(r["number"]) for r in rows] == [0, 1, 2, 3]
    assert all(r["state"] == "COMPLETE" for r in rows), rows
    assert {r["combiner.hidden_size"] for r in rows} <= {"8", "16", "24", "32"}
    # accuracy is maximised: the study's best is the highest COMPLETE value, and best_model is its model
    best_row = max(rows, key=lambda r: float(r["value"]))
    stats = json.loads((out / "best_model" / "training_stats.json").read_text())
    assert stats["validation_metric"] == "species.accuracy"
    assert stats["best_value"] == pytest.approx(float(best_row["value"]))
    assert stats["epochs"][stats["best_epoch"] - 1]["validation"]["species"]["accuracy"] == pytest.approx(
        float(best_row["value"])
    )

    import optuna  # two worker processes shared the trials

    study = optuna.load_study(study_name=None, storage=f"sqlite:///{out / 'study.db'}")
    assert study.best_value == pytest.approx(float(best_row["value"]))
    assert study.best_trial.params["trainer.learning_rate"] == pytest.approx(float(best_row["trainer.learning_rate"]))
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2 and all(w.rsplit(":", 1)[1] != str(os.getpid()) for w in workers), workers

    best_cfg = load_config(out / "best_config.yaml")
    assert best_cfg.hyperopt is None
    assert best_cfg.trainer.validation_metric == "species.accuracy"
    assert best_cfg.trainer.learning_rate == pytest.approx(float(best_row["trainer.learning_rate"]))
    assert best_cfg.combiner.hidden_size == int(best_row["combiner.hidden_size"])

    model = api.load(out / "best_model")
    pred = model.predict(read_table(PENGUINS / "penguins.csv").head(20))
    assert set(pred["species::label"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert not (out / ".trials").exists() or not any((out / ".trials").iterdir())

    for png in ("optimization_history.png", "param_importances.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, png


def test_rerun_resumes_and_runs_only_the_remaining_trials(tmp_path):
    config, out = penguins_search(tmp_path), tmp_path / "search"
    code, output = run_cli(config, "-o", out, "--trials", "2")
    assert code == 0, output
    assert [r["number"] for r in read_trials(out)] == ["0", "1"]
    first = read_trials(out)

    stale = [out / ".trials" / f"trial-1-p{dead_pid()}", out / ".trials" / f"trial-1-p{dead_pid()}.checkpoint"]
    for folder in stale:  # what a Ctrl-C'd --jobs 1 run leaves behind
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"x")
    code, output = run_cli(config, "-o", out, "--trials", "4")
    assert code == 0, output
    rows = read_trials(out)
    assert [r["number"] for r in rows] == ["0", "1", "2", "3"]
    assert rows[:2] == first  # the first two were not run again
    assert not any(f.exists() for f in stale) and not any((out / ".trials").iterdir())

    code, output = run_cli(config, "-o", out, "--trials", "4")
    assert code == 0, output
    assert read_trials(out) == rows  # nothing left to run


def test_a_killed_search_resumes_and_reruns_the_interrupted_trial(tmp_path):
    config, out = penguins_search(tmp_path, trials=3), tmp_path / "search"
    out.mkdir()
    db = out / "study.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli.main", "hyperopt", config, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:  # kill it once a trial is done and the next one is running
            states = _states(db)
            if states.count("COMPLETE") >= 1 and "RUNNING" in states:
                break
            assert proc.poll() is None, "the search ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail(f"no trial finished in time: {_states(db)}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert "RUNNING" in _states(db)

    code, output = run_cli(config, "-o", out)
    assert code == 0, output
    rows = read_trials(out)
    assert sum(r["state"] in ("COMPLETE", "PRUNED") for r in rows) == 3, (rows, output)
    interrupted = [r for r in rows if r["state"] == "FAIL"]
    assert len(interrupted) == 1 and "interrupted" in interrupted[0]["note"]
    assert len(rows) == 4  # the killed run's trials, plus only the missing ones


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _states(db) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=30) as con:
            return [s for (s,) in con.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # tables not created yet
        return []


def test_an_invalid_combination_is_skipped_not_crashed_on(tmp_path):
    config = penguins_search(tmp_path, trials=2)
    cfg = yaml.safe_load(open(config))
    cfg["combiner"] = {"type": "transformer", "d_token": 8}
    cfg["hyperopt"]["parameters"] = {"combiner.num_heads": {"space": "choice", "values": [3]}}
    open(config, "w").write(yaml.safe_dump(cfg))
    out = tmp_path / "search"
    code, output = run_cli(config, "-o", out)
    assert code == 2
    assert "no trial completed" in output
    rows = read_trials(out)
    assert [r["state"] for r in rows] == ["PRUNED", "PRUNED"]
    assert all("invalid config" in r["note"] and "not divisible" in r["note"] for r in rows)


BAD_SPACES = {
    "unknown path": (
        {"trainer.learnin_rate": {"space": "uniform", "low": 0.1, "high": 0.2}},
        "hyperopt.parameters.trainer.learnin_rate: unknown key 'learnin_rate'; did you mean 'learning_rate'?",
    ),
    "unknown feature": (
        {"input_features.islnd.encoder.dim": {"space": "int", "low": 1, "high": 4}},
        "hyperopt.parameters.input_features.islnd.encoder.dim: no input feature named 'islnd'; did you mean 'island'?",
    ),
    "empty choice": (
        {"combiner.type": {"space": "choice", "values": []}},
        "hyperopt.parameters.combiner.type.values: must list at least one value",
    ),
    "low >= high": (
        {"trainer.learning_rate": {"space": "uniform", "low": 0.1, "high": 0.01}},
        "hyperopt.parameters.trainer.learning_rate.low: must be < high, got 0.1 >= 0.01",
    ),
    "log low <= 0": (
        {"trainer.learning_rate": {"space": "loguniform", "low": 0, "high": 0.01}},
        "hyperopt.parameters.trainer.learning_rate.low: input should be greater than 0",
    ),
    "unknown space": (
        {"trainer.learning_rate": {"space": "logunif", "low": 0.1, "high": 1}},
        "hyperopt.parameters.trainer.learning_rate.space: unknown space 'logunif'; did you mean 'loguniform'?",
    ),
    "grid of a continuous space": (
        {"trainer.learning_rate": {"space": "uniform", "low": 0.1, "high": 1}},
        "hyperopt.parameters.trainer.learning_rate: the grid sampler needs",
    ),
    "uniform step not dividing the range": (
        {"combiner.dropout": {"space": "uniform", "low": 0.0, "high": 0.01, "step": 0.006}},
        (
            "hyperopt.parameters.combiner.dropout.step: (high - low) must be a multiple of step, "
            "got high - low = 0.01, step 0.006"
        ),
    ),
    "int step not dividing the range": (
        {"combiner.hidden_size": {"space": "int", "low": 8, "high": 30, "step": 8}},
        (
            "hyperopt.parameters.combiner.hidden_size.step: (high - low) must be a multiple of step, "
            "got high - low = 22, step 8"
        ),
    ),
    "log int with a step": (
        {"combiner.hidden_size": {"space": "int", "low": 8, "high": 64, "step": 8, "log": True}},
        "hyperopt.parameters.combiner.hidden_size.step: must be 1 with log: true, got 8",
    ),
    "metric the output lacks": ({}, "hyperopt.metric: category output 'species' has no metric 'r2'"),
    "unknown output": ({}, "hyperopt.metric: 'specie.accuracy' names no output feature; did you mean 'species'?"),
}


@pytest.mark.parametrize("case", BAD_SPACES)
def test_a_bad_search_space_exits_2_naming_the_yaml_path(tmp_path, case):
    parameters, message = BAD_SPACES[case]
    config = penguins_search(tmp_path)
    cfg = yaml.safe_load(open(config))
    if parameters:
        cfg["hyperopt"]["parameters"] = parameters
    if case.startswith("grid"):
        cfg["hyperopt"]["sampler"] = "grid"
    if case == "metric the output lacks":
        cfg["hyperopt"]["metric"] = "species.r2"
    if case == "unknown output":
        cfg["hyperopt"]["metric"] = "specie.accuracy"
    open(config, "w").write(yaml.safe_dump(cfg))
    code, output = run_cli(config, "-o", tmp_path / "search")
    assert code == 2, output
    assert message in output, output
    assert "Traceback" not in output
    assert not (tmp_path / "search").exists()  # refused before any work


def test_a_config_without_a_hyperopt_section_is_refused(tmp_path):
    code, output = run_cli(PENGUINS / "config.yaml", "-o", tmp_path / "search")
    assert code == 2
    assert "hyperopt: section is missing" in output


def test_tk_train_ignores_the_section_and_render_keeps_it(tmp_path):
    from toolkit.config.schema import load_config, render

    cfg = load_config(penguins_search(tmp_path))
    assert cfg.hyperopt.trials == 4 and cfg.hyperopt.pruner == "median"
    assert "hyperopt:" in render(cfg)
    plain = load_config(PENGUINS / "config.yaml")
    assert "hyperopt" not in render(plain)


def test_direction_is_inferred_from_the_metric_name_unless_given():
    from toolkit.config.hyperopt import HyperoptConfig, direction

    section = HyperoptConfig.model_validate({"parameters": {"trainer.epochs": {"space": "int", "low": 1, "high": 2}}})
    assert [direction(section, m) for m in ("loss", "rmse", "mae", "roc_auc", "accuracy")] == ["minimize"] * 3 + [
        "maximize"
    ] * 2
    assert direction(section.model_copy(update={"goal": "minimize"}), "roc_auc") == "minimize"


def test_switching_a_block_type_drops_the_keys_the_new_type_lacks():
    from toolkit.hyperopt import apply

    data = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    data["combiner"] = {"type": "concat", "hidden_size": 16, "num_layers": 1, "dropout": 0.0}
    switched = apply.set_path(data, "combiner.type", "transformer")
    assert switched["combiner"] == {"type": "transformer", "num_layers": 1}
    assert data["combiner"]["hidden_size"] == 16  # the base config is not changed
    assert not apply.applies(switched, "combiner.hidden_size") and apply.applies(switched, "combiner.d_token")
    set_dim = apply.set_path(data, "input_features.island.encoder.dim", 4)
    assert set_dim["input_features"][0]["encoder"] == {"dim": 4}


def test_the_median_pruner_stops_hopeless_trials(tmp_path):
    config = penguins_search(
        tmp_path, trials=6, epochs=5, pruner="median", seed=6
    )  # lr draws: 1e-2 1e-2 1e-7 1e-2 1e-7 1e-7
    cfg = yaml.safe_load(Path(config).read_text())
    cfg["hyperopt"]["parameters"] = {"trainer.learning_rate": {"space": "choice", "values": [1e-2, 1e-7]}}
    Path(config).write_text(yaml.safe_dump(cfg))
    out = tmp_path / "search"
    code, output = run_cli(config, "-o", out, "--jobs", "1")
    assert code == 0, output
    rows = read_trials(out)
    assert len(rows) == 6 and {r["state"] for r in rows} <= {"COMPLETE", "PRUNED"}, rows
    pruned = [r for r in rows if r["state"] == "PRUNED"]
    assert pruned, rows
    for r in pruned:  # only after 4 complete trials (n_startup_trials) and from epoch 3 (n_warmup_steps)
        assert r["note"] in ("pruned at epoch 3", "pruned at epoch 4", "pruned at epoch 5"), r
        assert int(r["number"]) >= 4 and r["note"] == f"pruned at epoch {r['epochs']}", r
    assert any(r["trainer.learning_rate"] == "1e-07" for r in pruned), rows
    assert (out / "optimization_history.png").exists()
    assert not (out / "param_importances.png").exists()  # one parameter: nothing to rank


def test_the_search_goes_on_when_its_parent_shell_exits(tmp_path):
    """Started in the background by a shell that exits (nohup, CI steps): every trial still runs."""
    config, out = penguins_search(tmp_path, trials=3, epochs=2), tmp_path / "search"
    out.mkdir()
    log_file, pid_file = tmp_path / "search.log", tmp_path / "search.pid"
    # the shell waits until the first trial is done, then exits while the search goes on
    script = (
        f"{sys.executable} -m toolkit.cli.main hyperopt {config} -o {out} > {log_file} 2>&1 & echo $! > {pid_file}; "
        f"for i in $(seq 600); do [ -e {out / 'best_trial.json'} ] && exit 0; sleep 0.2; done"
    )
    subprocess.run(["bash", "-c", script], timeout=150, check=True)
    pid = int(pid_file.read_text())
    try:
        deadline = time.time() + 150
        while _running(pid) and time.time() < deadline:
            time.sleep(0.3)
        assert not _running(pid), "the search did not end in time"
    finally:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
    rows = read_trials(out)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 3, (rows, log_file.read_text())
    assert (out / "best_model" / "model.onnx").exists()


def _running(pid: int) -> bool:
    """True while `pid` runs (a zombie, ended but not yet reaped by init, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_directory_or_glob_dataset_is_accepted_as_tk_train_accepts_it(tmp_path):
    import pandas as pd

    data = tmp_path / "data"
    data.mkdir()
    df = pd.read_csv(PENGUINS / "penguins.csv")
    df.iloc[:200].to_csv(data / "part-0.csv", index=False)
    df.iloc[200:].to_csv(data / "part-1.csv", index=False)
    config = penguins_search(tmp_path, trials=1, epochs=2)
    code, output = run_cli(config, "-o", tmp_path / "dir", "--dataset", data)
    assert code == 0, output
    assert [r["state"] for r in read_trials(tmp_path / "dir")] == ["COMPLETE"]

    code, output = run_cli(config, "-o", tmp_path / "none", "--dataset", tmp_path / "nothing-*.csv")
    assert code == 2 and "--dataset " in output and "nothing-*.csv: no file matches" in output, output


def test_stale_trial_folders_are_swept_but_live_ones_kept(tmp_path):
    from toolkit.hyperopt import worker

    trials = tmp_path / ".trials"
    live = [
        trials / f"trial-3-p{os.getppid()}",
        trials / f"trial-3-p{os.getppid()}.checkpoint",
        trials / f"trial-4-p{os.getpid()}",
    ]
    dead = [
        trials / f"trial-1-p{dead_pid()}",
        trials / f"retrain-2-p{dead_pid()}",
        trials / f"trial-5-p{os.getpid()}",
        trials / "trial-0",
    ]  # this process, no thread there
    for folder in live + dead:
        folder.mkdir(parents=True)
    worker.ACTIVE.add(live[2].name)
    try:
        removed = worker.sweep_stale(tmp_path)
    finally:
        worker.ACTIVE.discard(live[2].name)
    assert sorted(removed) == sorted(f.name for f in dead)
    assert all(f.exists() for f in live) and not any(f.exists() for f in dead)
