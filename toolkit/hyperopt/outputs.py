"""What a search leaves in --output: trials.csv, best_config.yaml, best_model/, PNG plots.

trials.csv                one row per trial: number, state, value, duration_s,
                          epochs, note (why pruned / skipped / failed), then one
                          column per searched path (blank where a trial did not use it)
best_config.yaml          the best trial's config, resolved (`tk train` reproduces it)
best_model/               that trial's model directory, model.onnx included, and
                          best_trial.json (study, trial, value): its marker, moved in
                          with it by the one rename that installs it
best_trial.json           a copy of that marker for readers (tk reads the one inside)
optimization_history.png  value per trial and best so far
param_importances.png     fANOVA importance of each path (drawn once 2+ trials completed
                          and 2+ paths took more than one value among them)
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

from toolkit.common import log
from toolkit.runtime.model_dir import atomic_write

HISTORY_PNG = "optimization_history.png"
IMPORTANCES_PNG = "param_importances.png"


def trial_rows(study, section) -> list[dict]:
    """Every trial of the study as a flat dict (the rows of trials.csv)."""
    from toolkit.config.hyperopt import from_params

    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        note = t.user_attrs.get("note", "")
        if t.state.name == "FAIL" and not note:
            note = "interrupted (its process ended)"
        row = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value
            if t.value is not None
            else (t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None),
            "duration_s": round(duration, 2) if duration is not None else None,
            "epochs": t.user_attrs.get("epochs"),
            "note": note,
        }
        row |= {path: value for path, value in from_params(section, t.params).items()}
        rows.append(row)
    return rows


def write_trials_csv(path: Path, rows: list[dict], section) -> None:
    columns = ["number", "state", "value", "duration_s", "epochs", "note", *section.parameters]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    atomic_write(path, buf.getvalue().encode())


def best_config(base: dict, section, metric: tuple[str, str], trial):
    """The validated Config of a finished trial, rebuilt from its stored params."""
    from toolkit.config.hyperopt import from_params
    from toolkit.config.schema import validate_config
    from toolkit.hyperopt.worker import trial_config

    values = from_params(section, trial.params)
    data, _ = trial_config(base, section, metric, lambda path, param: values[path])
    return validate_config(data, f"trial {trial.number}")


def varying_params(study) -> tuple[int, list[str]]:
    """(completed trials, the paths that took 2+ values among them)."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    seen: dict[str, set] = {}
    for t in done:
        for path, value in t.params.items():
            seen.setdefault(path, set()).add(repr(value))
    return len(done), [path for path, values in seen.items() if len(values) > 1]


def write_plots(output: Path, study) -> list[str]:
    """The PNGs through optuna.visualization.matplotlib; returns the files written.

    The history needs a completed trial; the importances need 2+ completed
    trials and 2+ paths that vary among them (otherwise one line says why).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis

    done, varying = varying_params(study)
    plots = [(HISTORY_PNG, vis.plot_optimization_history)] if done else []
    if done >= 2 and len(varying) >= 2:
        plots.append((IMPORTANCES_PNG, vis.plot_param_importances))
    elif done:
        log.info(
            f"{IMPORTANCES_PNG} not drawn: it needs 2+ completed trials and 2+ parameters that vary "
            f"among them, got {done} completed, {len(varying)} varying"
        )
    written = []
    for name, draw in plots:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning
                ax = draw(study)
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            tmp = output / f".{name}.tmp-{os.getpid()}"
            fig.savefig(tmp, format="png", dpi=100)
            plt.close(fig)
            os.replace(tmp, output / name)
            written.append(name)
        except (RuntimeError, ValueError, ZeroDivisionError) as e:
            log.warn(f"{name} not drawn: {e}")
            plt.close("all")
    return written
