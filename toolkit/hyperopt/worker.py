"""One search process: reserve a trial, train it, report each epoch, keep the best model.

`main(job)` is the target of each worker process (multiprocessing, spawn).
Trials are reserved under a file lock in the output folder, so N local
processes never start more than the study's remaining trials. Each trial
trains into `<output>/.trials/trial-<n>-p<pid>` (model.onnx and its parity
check included); one that beats the best so far replaces `<output>/best_model`
under a second lock, so only the best trial's directory is kept. The marker
naming the trial (`best_trial.json`: study, trial, value) is written inside
the trial's folder before the rename that installs it, so best_model/ and its
marker change together: a crash at any moment cannot leave one trial's model
under another trial's marker (and so under another trial's best_config.yaml).
`<output>/best_trial.json` is a copy for readers, written after; tk trusts
only the one inside best_model/. What a killed process left in `.trials` is
removed at the next start (`sweep_stale`).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

BEST_DIR = "best_model"
BEST_MARKER = "best_trial.json"
TRIALS_DIR = ".trials"
#: names under .trials that threads of this process train into now (--jobs 1 runs in a thread)
ACTIVE: set[str] = set()


@contextmanager
def file_lock(path: Path, blocking: bool = True):
    """An exclusive flock on `path` (created if missing); yields whether it was taken."""
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def trial_dir(output: Path, name: str) -> Path:
    """`<output>/.trials/<name>-p<pid>`: the pid tells `sweep_stale` whose folder it is."""
    return Path(output) / TRIALS_DIR / f"{name}-p{os.getpid()}"


def sweep_stale(output: Path) -> list[str]:
    """Remove what ended trials left in `<output>/.trials`; returns the names removed.

    Call it holding `.hyperopt.lock`. A folder (and its `.checkpoint`) is kept
    while its process lives, unless that is this process and none of its
    threads trains there (a thread abandoned by Ctrl-C in an earlier call).
    """
    from toolkit.hyperopt.study import process_alive

    folder = Path(output) / TRIALS_DIR
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        name = entry.name.removesuffix(".checkpoint")
        match = re.fullmatch(r".*-p(\d+)", name)
        pid = int(match.group(1)) if match else 0
        in_use = name in ACTIVE if pid == os.getpid() else process_alive(pid)
        if in_use:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def trial_config(base: dict, section, metric: tuple[str, str], pick) -> tuple[dict, dict]:
    """(config dict, {path: value}) for one trial; `pick(path, param)` gives each value.

    `.type` paths are set first; a path that does not exist for the types
    chosen (a concat-only key in a transformer trial) is not searched in that
    trial. The trial early-stops and keeps its best epoch by the searched
    metric, so `trainer.validation_metric` is set to it unless searched.
    """
    from toolkit.hyperopt import apply

    data, values = base, {}
    ordered = sorted(section.parameters.items(), key=lambda kv: not kv[0].endswith(".type"))
    for path, param in ordered:
        if not apply.applies(data, path):
            continue
        values[path] = pick(path, param)
        data = apply.set_path(data, path, values[path])
    if "trainer.validation_metric" not in section.parameters:
        data = apply.set_path(data, "trainer.validation_metric", ".".join(metric))
    return data, values


def main(job: dict, stop=None) -> None:
    """Run trials until the study has `job['total']` or the time is up.

    The target of a worker process; with `stop` (a threading.Event) it runs
    in a thread of the `tk hyperopt` process itself (--jobs 1) and checks it
    between trials.
    """
    if job["one_thread"]:
        os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported in this process
    import optuna
    import torch

    from toolkit.common import log  # noqa: F401  (imported before the first trial's clock starts)
    from toolkit.config.hyperopt import HyperoptConfig
    from toolkit.hyperopt import study as study_mod

    if stop is None:  # a process of its own: quiet for good (a thread runs inside study.quiet_optuna)
        log.quiet = True
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study_mod.silence_optuna_warnings()
    section = HyperoptConfig.model_validate(job["section"])
    if job["one_thread"]:
        torch.set_num_threads(1)
    study = optuna.load_study(
        study_name=job["study_name"],
        storage=study_mod.make_storage(job["storage"]),
        sampler=study_mod.make_sampler(section, job["seed"]),
        pruner=study_mod.make_pruner(section),
    )
    try:
        while stop is None or not stop.is_set():
            trial = reserve(study, job)
            if trial is None:
                return
            run_trial(study, trial, section, job)
    except KeyboardInterrupt:  # Ctrl-C reaches every worker; the trial is already marked FAIL
        if stop is not None:
            raise
    except Exception as e:  # storage trouble: one line, not a traceback from each process
        if stop is not None:
            raise
        why = study_mod.mask_secrets(f"{type(e).__name__}: {e}", job["storage"]).splitlines()[0]
        log.error(f"hyperopt worker {worker_id()}: {why}")
        raise SystemExit(1) from None


def reserve(study, job: dict):
    """A new RUNNING trial, or None when the study is full, time is up or the parent is gone.

    `job["parent"]` is the `tk hyperopt` pid for a spawned worker, None for the
    thread of `--jobs 1` (whose own re-parenting, e.g. under nohup, is no reason to stop).
    """
    from optuna.trial import TrialState

    output = Path(job["output"])
    with file_lock(output / ".reserve.lock"):
        if job["parent"] is not None and os.getppid() != job["parent"]:
            return None
        if job["deadline"] is not None and time.time() >= job["deadline"]:
            return None
        trials = study.get_trials(deepcopy=False)
        active = sum(
            t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING) for t in trials
        )
        started_here = sum(t.user_attrs.get("run") == job["run_id"] for t in trials)
        if active >= job["total"] or started_here >= job["budget"]:
            return None
        trial = study.ask()
        trial.set_user_attr("run", job["run_id"])
        trial.set_user_attr("worker", worker_id())
        return trial


def run_trial(study, trial, section, job: dict) -> None:
    """Sample, validate, train with pruning, record; never raises for a bad trial."""
    import optuna
    from optuna.trial import TrialState

    from toolkit import api
    from toolkit.config import hyperopt as space
    from toolkit.config.schema import validate_config
    from toolkit.errors import TkError

    out_name, metric = job["metric"]
    n = trial.number
    try:
        data, values = trial_config(
            job["base"], section, (out_name, metric), lambda path, param: space.suggest(trial, path, param)
        )
        if job["one_thread"] and not data.get("trainer", {}).get("threads"):
            data = {**data, "trainer": {**data.get("trainer", {}), "threads": 1}}
        cfg = validate_config(data, "trial config")
    except Exception as e:  # TkError from validation; anything else is reported the same way
        trial.set_user_attr("note", f"invalid config, skipped: {e}"[:2000])
        tell(study, trial, state=TrialState.PRUNED)
        return

    track = None
    if job.get("mlflow"):
        from toolkit.tracking import mlflow_search as tracking

        track = tracking.start_trial(job["mlflow"], n, cfg, values)

    def on_epoch(record: dict) -> None:
        if track is not None:
            track.on_epoch(record)
        value = record["validation"].get(out_name, {}).get(metric)
        if value is None or math.isnan(value):
            return
        trial.report(value, record["epoch"])
        if trial.should_prune():
            trial.set_user_attr("epochs", record["epoch"])
            trial.set_user_attr("note", f"pruned at epoch {record['epoch']}")
            raise optuna.TrialPruned()

    tmp = trial_dir(Path(job["output"]), f"trial-{n}")
    ACTIVE.add(tmp.name)
    try:
        model = api.train(cfg, job["dataset"], output=tmp, on_epoch=on_epoch)
        value = float(model.stats["best_value"])
        trial.set_user_attr("epochs", len(model.stats["epochs"]))
        trial.set_user_attr("best_epoch", model.stats["best_epoch"])
        if math.isnan(value):
            trial.set_user_attr("note", f"{out_name}.{metric} is NaN")
            tell(study, trial, state=TrialState.FAIL)
            _end_tracking(track, model, "FAIL")
            return
        keep_if_best(tmp, value, n, job)
        tell(study, trial, value)
        _end_tracking(track, model, "COMPLETE")
    except optuna.TrialPruned:
        tell(study, trial, state=TrialState.PRUNED)
        _end_tracking(track, None, "PRUNED")
    except KeyboardInterrupt:
        trial.set_user_attr("note", "interrupted")
        tell(study, trial, state=TrialState.FAIL)
        _end_tracking(track, None, "FAIL")
        raise
    except Exception as e:  # a trial's failure is recorded, the search goes on
        reason = str(e) if isinstance(e, TkError) else f"{type(e).__name__}: {e}"
        trial.set_user_attr("note", f"failed: {reason}"[:2000])
        tell(study, trial, state=TrialState.FAIL)
        _end_tracking(track, None, "FAIL")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.with_name(tmp.name + ".checkpoint"), ignore_errors=True)
        ACTIVE.discard(tmp.name)


def _end_tracking(track, model, state: str) -> None:
    """End the trial's MLflow child run, if it has one (toolkit.tracking.mlflow_search.end_trial)."""
    if track is not None:
        from toolkit.tracking import mlflow_search as tracking

        tracking.end_trial(track, model, state)


def tell(study, trial, value=None, state=None) -> None:
    """study.tell, where the grid sampler's own "grid exhausted" stop is not an error.

    (GridSampler calls study.stop(), which Optuna allows only inside optimize;
    here the run already caps the trials at the grid's size.)
    """
    try:
        study.tell(trial, value, state=state)
    except RuntimeError as e:
        if "Study.stop" not in str(e):
            raise


def read_marker(output: Path) -> dict | None:
    """{"study", "trial", "value"} of the model in `<output>/best_model` (its own marker), or None."""
    from toolkit.errors import TkError
    from toolkit.runtime.model_dir import read_regular

    try:  # a regular file of at most 64 KiB: a FIFO or a link put there is no marker
        marker = json.loads(read_regular(Path(output) / BEST_DIR / BEST_MARKER, limit=1 << 16))
    except (OSError, ValueError, TkError):
        return None
    return marker if isinstance(marker, dict) else None


def write_marker(folder: Path, study_name: str, number: int, value: float) -> None:
    """The marker of the trial whose model is in `folder` (a trial folder about to be installed)."""
    from toolkit.runtime.model_dir import atomic_write

    atomic_write(
        Path(folder) / BEST_MARKER, json.dumps({"study": study_name, "trial": number, "value": value}).encode()
    )


def install_best(model_dir: Path, output: Path, study_name: str, number: int, value: float) -> None:
    """Mark `model_dir` as trial `number`'s, then swap it in as best_model; call it holding .best.lock."""
    output = Path(output)
    write_marker(model_dir, study_name, number, value)
    install(model_dir, output / BEST_DIR)
    from toolkit.errors import TkError

    try:  # the readers' copy; nothing in tk reads it
        write_marker(output, study_name, number, value)
    except (OSError, TkError):
        pass


def keep_if_best(trial_dir: Path, value: float, number: int, job: dict) -> None:
    """Swap `trial_dir` in as best_model when `value` beats the marker's (under a lock)."""
    output = Path(job["output"])
    with file_lock(output / ".best.lock"):
        marker = read_marker(output)
        best = output / BEST_DIR
        if marker is not None and marker.get("study") == job["study_name"] and best.is_dir():
            old = marker["value"]
            if not (value < old if job["direction"] == "minimize" else value > old):
                return
        install_best(trial_dir, output, job["study_name"], number, value)


def install(model_dir: Path, best: Path) -> None:
    """Replace `best` by `model_dir` with renames (same filesystem), old copy removed after."""
    old = best.with_name(f".{best.name}.old-{os.getpid()}")
    if best.exists():
        os.replace(best, old)
    os.replace(model_dir, best)
    shutil.rmtree(old, ignore_errors=True)
