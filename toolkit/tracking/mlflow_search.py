"""`tk hyperopt --mlflow`: a parent run for the search, one child run per trial (toolkit.tracking.mlflow).

The parent holds the base config and the hyperopt section as params, the best value and trial, the
search's files (trials.csv, best_config.yaml, plots), best_model/ and the best model logged (and
registered when asked). Each trial's child run holds its config and sampled values, its epochs and
final metrics, and ends FINISHED, KILLED (pruned) or FAILED. A worker process opens its trials' runs
from `job_info`; a tracking failure there is a warning and never fails a trial.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError
from toolkit.tracking.mlflow import Run, _frame_of, _mlflow_quiet, _why, flatten, mask
from toolkit.tracking.mlflow_model import example_rows


def start_search(uri, study_name: str, base: dict, section, output: Path) -> Run:
    """The parent run of a search: the base config and the hyperopt section as params."""
    run = Run.start(uri, run_name=f"hyperopt {Path(output).name}", tags={"tk.hyperopt.study": study_name})
    try:
        run.log_params(flatten(base) | flatten({"hyperopt": section.model_dump(mode="json")}))
    except Exception as e:
        run.end("FAILED")
        raise TkError(f"--mlflow {mask(run.uri)}: cannot log the search's parameters: {_why(e)}") from None
    return run


def job_info(run: Run) -> dict:
    """What a worker process needs to open its trials' child runs."""
    return {"uri": run.uri, "parent": run.run_id, "experiment_id": run.experiment_id}


def start_trial(info: dict, number: int, cfg, values: dict) -> Run | None:
    """A child run for trial `number` (its config and sampled values as params), or None with a warning:
    a tracking failure never fails a trial."""
    try:
        run = Run.start(
            info["uri"],
            run_name=f"trial {number}",
            parent_run_id=info["parent"],
            experiment_id=info["experiment_id"],
            tags={"tk.trial": str(number)},
        )
        run.log_config(cfg)
        run.log_params({f"trial.{k}": str(v) for k, v in values.items()})
        return run
    except Exception as e:
        log.warn(f"--mlflow: trial {number} not tracked: {_why(e)}")
        return None


def end_trial(run: Run | None, model=None, state: str = "COMPLETE") -> None:
    """Final metrics of a completed trial; the run ends FINISHED, KILLED (pruned) or FAILED."""
    if run is None:
        return
    try:
        if model is not None:
            run.log_training(model, None)
    except Exception as e:
        log.warn(f"--mlflow: trial metrics not logged: {_why(e)}")
    run.end({"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(state, "FAILED"))


def finish_search(run: Run, study, output: Path, source, registered_model_name: str | None) -> None:
    """The parent run's end: best value and trial, trials.csv / best_config.yaml / plots, the best model."""
    from toolkit import api

    output = Path(output)
    try:
        best = study.best_trial
        run.log_metrics({"best.value": float(best.value), "best.trial": float(best.number)})
        for path in sorted(output.glob("*")):
            if path.is_file() and path.suffix in (".csv", ".yaml", ".png", ".html"):
                run.client.log_artifact(run.run_id, str(path))
        best_dir = output / "best_model"
        run.client.log_artifacts(run.run_id, str(best_dir), "best_model")
        model = api.load(best_dir)
        frame = _frame_of(source)
        with _mlflow_quiet():
            info = run.log_model(
                model, example_rows(model, frame) if frame is not None else None, registered_model_name
            )
        log.info(
            f"mlflow: {run.url}; best model {info.model_uri}"
            + (f", registered as {registered_model_name}" if registered_model_name else "")
        )
    except Exception as e:
        run.end("FAILED")
        why = str(e) if isinstance(e, TkError) else _why(e)
        raise TkError(f"the search is saved in {output}, but MLflow logging failed: {why}") from None
    run.end("FINISHED")
