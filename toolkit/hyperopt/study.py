"""The Optuna side: storage, sampler and pruner from the `hyperopt:` section.

SQLite is shared by several processes, so its connections wait up to 30 s
for a lock instead of failing with "database is locked".
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import warnings
from contextlib import contextmanager

COUNTED = ("COMPLETE", "PRUNED")  # trial states that use up the study's budget of trials


@contextmanager
def quiet_optuna():
    """Optuna's log lines below ERROR and its warnings off inside the block, restored after.

    Its messages ("There are no complete trials", a `high` it adjusted) would
    reach the user raw; tk checks the spaces up front and says what matters itself.
    """
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            silence_optuna_warnings()
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def silence_optuna_warnings() -> None:
    """Ignore warnings raised in optuna's modules, and its ExperimentalWarning (for this process)."""
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", module="optuna")
    warnings.filterwarnings("ignore", category=ExperimentalWarning)


def mask_url(url: str) -> str:
    """`url` as it may be printed: a password in it replaced by ***.

    postgresql://tk:s3cret@db/optuna → postgresql://tk:***@db/optuna (SQLAlchemy's own rendering);
    a URL SQLAlchemy cannot parse has any `user:password@` part masked all the same.
    """
    import re

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def mask_secrets(text: str, url: str) -> str:
    """`text` (an error message that may quote `url`) with the URL's password masked wherever it appears."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = text.replace(url, mask_url(url))
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        password = None
    if password:
        from urllib.parse import quote

        for form in {str(password), quote(str(password), safe="")}:
            text = text.replace(form, "***")
    return text


def make_storage(url: str):
    """An Optuna RDBStorage for `url` (sqlite:///…, postgresql://…, mysql://…)."""
    import optuna

    engine_kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else None
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def make_sampler(section, seed: int | None):
    """tpe | random | grid, as named by `hyperopt.sampler`."""
    import optuna

    from toolkit.config.hyperopt import grid_values

    if section.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if section.sampler == "grid":
        grid = {path: grid_values(p) for path, p in section.parameters.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def grid_size(section) -> int | None:
    """Points in the grid (the most trials a grid search can run), or None for other samplers."""
    import math

    from toolkit.config.hyperopt import grid_values

    if section.sampler != "grid":
        return None
    return math.prod(len(grid_values(p)) for p in section.parameters.values())


def make_pruner(section):
    """median | hyperband | none, fed by the per-epoch validation metric."""
    import optuna

    if section.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=3)
    if section.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=2, reduction_factor=3)
    return optuna.pruners.NopPruner()


def study_name(config_stem: str, base: dict, section, metric: tuple[str, str], goal: str, dataset: str) -> str:
    """Stable across re-runs of the same search; a changed space or config starts a new study."""
    key = json.dumps(
        {
            "config": base,
            "parameters": section.model_dump(mode="json")["parameters"],
            "metric": list(metric),
            "goal": goal,
            "dataset": dataset,
        },
        sort_keys=True,
        default=str,
    )
    return f"tk-{config_stem}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


UNLABELLED_GRACE_S = 60.0  # a worker labels its trial right after study.ask(); one unlabelled longer is abandoned


def fail_interrupted(study, all_workers_local: bool = False) -> list[int]:
    """Mark FAIL the RUNNING trials whose worker process on this host is gone (a killed run).

    Trials of workers on other machines (a shared RDB) are left alone. A
    worker labels its trial ("worker": host:pid) right after `study.ask()`,
    under `<output>/.reserve.lock`; a trial without a label was left by a
    process killed between the two. Call this holding that lock, so no local
    worker is in between: an unlabelled trial is then abandoned when
    `all_workers_local` (SQLite storage) or when it started more than
    UNLABELLED_GRACE_S ago. Returns their numbers.
    """
    import datetime

    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        label = t.user_attrs.get("worker")
        if label is None:
            started = t.datetime_start or datetime.datetime.now()
            age = (datetime.datetime.now() - started).total_seconds()
            if not (all_workers_local or age > UNLABELLED_GRACE_S):
                continue
        else:
            where, _, pid = str(label).rpartition(":")
            if where != host or process_alive(int(pid or 0)):
                continue
        study.tell(t.number, state=TrialState.FAIL)
        failed.append(t.number)
    return failed


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
