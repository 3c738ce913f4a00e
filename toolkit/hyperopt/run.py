"""`tk hyperopt`: check the search, start the workers, show progress, write the outputs.

    hyperopt("cfg.yaml", dataset=None, output="runs/search", trials=30, jobs=2, storage=None)

The study lives in an Optuna storage (default sqlite:///<output>/study.db)
under a name derived from the config and the search space, so running the
same command again resumes it: trials already COMPLETE or PRUNED count
toward the total, and only the rest run. `--jobs N` starts N processes that
share the study (and Optuna's pruner sees every process's epochs). Trials
of an earlier run whose process was killed are marked FAIL and run again.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import uuid
from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError
from toolkit.hyperopt import outputs, worker
from toolkit.hyperopt import study as study_mod


def hyperopt(
    config_path,
    dataset=None,
    output="runs/hyperopt",
    trials: int | None = None,
    jobs: int = 1,
    storage: str | None = None,
    mlflow: str | None = None,
    registered_model_name: str | None = None,
):
    """Run (or resume) the search; returns the Optuna study.

    `mlflow`: a tracking URI ("" for MLflow's default) to record the search in a parent run with one
    child run per trial (toolkit.tracking.mlflow); `registered_model_name` registers the best model."""
    from toolkit.config import hyperopt as space
    from toolkit.config.schema import read_yaml, validate_config
    from toolkit.hyperopt import checks

    config_path, output = Path(config_path), Path(output)
    label = str(config_path)
    data = read_yaml(config_path)
    if data.get("hyperopt") is None:
        raise TkError(
            f"{label}: hyperopt: section is missing; add one with `parameters:` "
            f"(e.g. trainer.learning_rate: {{space: loguniform, low: 1.0e-4, high: 1.0e-2}})"
        )
    cfg = validate_config(data, label)
    section = cfg.hyperopt
    base = {k: v for k, v in data.items() if k != "hyperopt"}
    checks.check_section(section, base, cfg, label)
    if trials is not None and trials < 1:
        raise TkError(f"--trials: must be >= 1, got {trials}")
    if jobs < 1:
        raise TkError(f"--jobs: must be >= 1, got {jobs}")
    metric = space.resolve_metric(section, cfg)
    goal = space.direction(section, metric[1])
    source = _dataset_path(cfg, config_path, dataset)
    total = trials or section.trials
    grid = study_mod.grid_size(section)
    if grid is not None and grid < total:
        log.info(f"grid sampler: {grid} points, so {grid} trials (not {total})")
        total = grid

    if output.exists() and not output.is_dir():
        raise TkError(f"--output {output}: exists and is not a folder")
    output.mkdir(parents=True, exist_ok=True)
    with worker.file_lock(output / ".hyperopt.lock", blocking=False) as mine:
        if not mine:
            raise TkError(f"--output {output}: another `tk hyperopt` is running on this folder")
        swept = worker.sweep_stale(output)
        if swept:
            log.info(f"removed {len(swept)} folder(s) that interrupted trials left in {output / worker.TRIALS_DIR}")
        with study_mod.quiet_optuna():
            return _search(
                config_path,
                base,
                section=section,
                metric=metric,
                goal=goal,
                source=source,
                output=output,
                total=total,
                jobs=jobs,
                storage=storage,
                mlflow=mlflow,
                registered_model_name=registered_model_name,
            )


def _dataset_path(cfg, config_path: Path, dataset) -> str:
    """The dataset as `tk train` takes it (a file, a glob or a directory), made absolute."""
    from toolkit.data import readers

    if dataset is None and cfg.dataset is None:
        raise TkError("no dataset: pass --dataset or set `dataset:` in the config")
    path = Path(dataset) if dataset is not None else (config_path.resolve().parent / cfg.dataset)
    path = path.resolve()
    try:
        readers.files_of(path)  # TkError when nothing matches, a file is missing or empty
    except TkError as e:
        raise TkError(f"{'--dataset' if dataset is not None else 'dataset'} {e}") from None
    return str(path)


def _search(
    config_path,
    base,
    *,
    section,
    metric,
    goal,
    source,
    output,
    total,
    jobs,
    storage,
    mlflow=None,
    registered_model_name=None,
):
    import optuna

    url = storage or f"sqlite:///{(output / 'study.db').resolve()}"
    name = study_mod.study_name(config_path.stem, base, section, metric, goal, source)
    try:
        study = optuna.create_study(
            storage=study_mod.make_storage(url), study_name=name, direction=goal, load_if_exists=True
        )
    except Exception as e:  # a bad URL, a missing driver, an unreachable server
        why = study_mod.mask_secrets(f"{type(e).__name__}: {e}", url).splitlines()[0]
        raise TkError(f"--storage {study_mod.mask_url(url)}: cannot open the study: {why}") from None
    with worker.file_lock(output / ".reserve.lock"):  # no local worker between ask() and its label
        interrupted = study_mod.fail_interrupted(study, all_workers_local=url.startswith("sqlite"))
    if interrupted:
        log.warn(f"trials {interrupted} of an earlier run were interrupted; marked FAIL, run again")
    done = len(study.get_trials(deepcopy=False, states=_states(study_mod.COUNTED)))
    remaining = max(0, total - done)
    log.info(
        f"study {name} in {study_mod.mask_url(url)}: {done} of {total} trials done; running {remaining} "
        f"with {min(jobs, remaining) or 0} process(es); metric {'.'.join(metric)} ({goal})"
    )
    tracker = None
    if mlflow is not None:
        from toolkit.tracking import mlflow_search as tracking

        tracker = tracking.start_search(mlflow, name, base, section, output)
    try:
        _run_search(study, base, section, metric, goal, source, output, total, jobs, url, name, remaining, tracker)
        study = _finish(study, base, section=section, metric=metric, source=source, output=output, jobs=jobs)
    except BaseException:
        if tracker is not None:
            tracker.end("FAILED")
        raise
    if tracker is not None:
        tracking.finish_search(tracker, study, output, source, registered_model_name)
    return study


def _run_search(study, base, section, metric, goal, source, output, total, jobs, url, name, remaining, tracker):
    if remaining:
        deadline = time.time() + section.timeout_minutes * 60 if section.timeout_minutes else None
        job = {
            "base": base,
            "section": section.model_dump(mode="json"),
            "metric": list(metric),
            "direction": goal,
            "dataset": source,
            "output": str(output.resolve()),
            "storage": url,
            "study_name": name,
            "total": total,
            "budget": remaining,
            "deadline": deadline,
            "run_id": uuid.uuid4().hex[:12],
            "one_thread": jobs > 1,
        }
        if tracker is not None:
            from toolkit.tracking import mlflow_search as tracking

            job["mlflow"] = tracking.job_info(tracker)
        _run_workers(study, job, min(jobs, remaining), section)


def _states(names):
    from optuna.trial import TrialState

    return tuple(TrialState[n] for n in names)


def _run_workers(study, job: dict, n: int, section) -> None:
    """Start `n` worker processes and print each trial as it ends, until all exit."""
    import os
    import threading

    seed = section.seed
    existing = len(study.get_trials(deepcopy=False))
    # A spawned worker stops when its parent (this process) is gone; a thread has no such check:
    # this process being re-parented (nohup, a detached shell) must not stop the search.
    jobs = [
        {**job, "parent": None if n == 1 else os.getpid(), "seed": None if seed is None else seed + 1000 * existing + i}
        for i in range(n)
    ]
    stop = threading.Event()
    if n == 1:  # in this process: no second start-up (imports) to pay
        errors: list[BaseException] = []

        def in_thread():
            try:
                worker.main(jobs[0], stop)
            except BaseException as e:  # shown below, in the main thread
                errors.append(e)

        procs = [threading.Thread(target=in_thread, daemon=True, name="tk-hyperopt")]
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=worker.main, args=(j,), name=f"tk-hyperopt-{i}") for i, j in enumerate(jobs)]
    shown: set[int] = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    quiet = log.quiet

    def say(message: str) -> None:  # log.info, but while log.quiet silences the trials
        if not quiet:
            log.console().print(message, markup=False)

    try:
        with log.progress(job["budget"], "trials") as bar:
            log.quiet = True  # a trial's epoch lines would bury the trial lines
            for p in procs:
                p.start()
            while True:
                alive = any(p.is_alive() for p in procs)
                _report_new(study, job, shown, bar, say)
                if not alive:
                    break
                time.sleep(0.5)
    except KeyboardInterrupt:
        stop.set()
        log.warn("interrupted: stopping the workers; re-run the same command to resume")
        _stop(procs)
        raise
    finally:
        log.quiet = quiet
    for p in procs:
        if getattr(p, "exitcode", None):
            log.warn(f"worker process {p.pid} exited with code {p.exitcode}")
    if n == 1 and errors:
        log.warn(f"the search stopped: {type(errors[0]).__name__}: {errors[0]}")


def _stop(procs) -> None:
    """Give the workers 10 s to record their trial as FAIL (they saw the Ctrl-C too), then end them."""
    for p in procs:
        p.join(timeout=10)
    for p in procs:
        if p.is_alive() and hasattr(p, "terminate"):
            p.terminate()
            p.join(timeout=5)


def _report_new(study, job: dict, shown: set, bar, say) -> None:
    """One line per trial that ended since the last call; advance the bar."""
    trials = study.get_trials(deepcopy=False)
    best = _best_value(study)
    ran = [t for t in trials if t.user_attrs.get("run") == job["run_id"]]
    for t in sorted((t for t in ran if t.state.is_finished() and t.number not in shown), key=lambda t: t.number):
        shown.add(t.number)
        params = "  ".join(f"{k}={_short(v)}" for k, v in t.params.items())
        if t.state.name == "COMPLETE":
            mark = "  (best)" if best is not None and t.value == best else ""
            say(f"trial {t.number}: {'.'.join(job['metric'])} {t.value:.4f}{mark}  {params}")
        else:
            say(f"trial {t.number}: {t.state.name.lower()}: {t.user_attrs.get('note', '')}  {params}")
    finished = sum(t.state.is_finished() for t in ran)
    running = sum(t.state.name == "RUNNING" for t in ran)
    bar.update(
        completed=finished, description=f"trials ({running} running, best {'-' if best is None else f'{best:.4f}'})"
    )


def _best_value(study):
    try:
        return study.best_value
    except ValueError:  # no completed trial yet
        return None


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _finish(study, base, *, section, metric, source, output: Path, jobs: int):
    """Write trials.csv, the plots, best_config.yaml and make sure best_model is the best trial."""
    from toolkit.config.schema import render

    rows = outputs.trial_rows(study, section)
    outputs.write_trials_csv(output / "trials.csv", rows, section)
    outputs.write_plots(output, study)
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    log.info("trials: " + ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())))
    if _best_value(study) is None:
        raise TkError(f"no trial completed; see {output / 'trials.csv'} for why")
    best = study.best_trial
    cfg = outputs.best_config(base, section, metric, best)
    from toolkit.runtime.model_dir import atomic_write

    atomic_write(output / "best_config.yaml", render(cfg).encode())
    marker = worker.read_marker(output)
    if (
        marker is None
        or marker.get("study") != study.study_name
        or marker.get("trial") != best.number
        or not (output / worker.BEST_DIR).is_dir()
    ):
        # The best trial's model was kept by no process here (it ran on another machine, or
        # its process died before the swap): train its config again (same seed).
        log.info(f"training the best trial ({best.number}) again for {output / worker.BEST_DIR}")
        _retrain(cfg, source, output, study.study_name, best, jobs)
    value = best.value
    log.info(
        f"best: trial {best.number}, {'.'.join(metric)} {value:.4f}; wrote {output / 'best_config.yaml'}, "
        f"{output / worker.BEST_DIR}, {output / 'trials.csv'}"
    )
    if not math.isfinite(value):
        log.warn("the best value is not finite")
    return study


def _retrain(cfg, source, output: Path, study_name: str, best, jobs: int) -> None:
    from toolkit import api

    if jobs > 1 and not cfg.trainer.threads:
        cfg = cfg.model_copy(update={"trainer": cfg.trainer.model_copy(update={"threads": 1})})
    tmp = worker.trial_dir(output, f"retrain-{best.number}")
    quiet, log.quiet = log.quiet, True
    try:
        api.train(cfg, source, output=tmp)
    finally:
        log.quiet = quiet
    with worker.file_lock(output / ".best.lock"):
        worker.install_best(tmp, output, study_name, best.number, best.value)
