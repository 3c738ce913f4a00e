"""The systems the suite runs beside tk, by name: how each trains and on how many of the splits.

    SYSTEMS["lightgbm"].run(run, columns)     # the result dict (metrics, train_s, predict_s, ...)
    SYSTEMS["autogluon"].seeds                # 1: the first seed asked for only; None: every seed

tk itself is runner.TkSpec / tk_system (a source tree, overrides, a label), not an entry here.
ANCHORS are the references issue 25 sets tk's targets against (bench/results/suite_anchors.*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.suite.autogluon_system import run_autogluon
from bench.suite.lightgbm_system import run_lightgbm
from bench.suite.sklearn_systems import run_sklearn


@dataclass(frozen=True)
class System:
    """run(run, columns) → result dict; seeds: how many of the asked-for seeds it runs (None: all)."""

    run: Callable[[Any, dict[str, str]], dict[str, Any]]
    seeds: int | None = None
    about: str = ""


SYSTEMS: dict[str, System] = {
    "hgb": System(partial(run_sklearn, "hgb"), about="HistGradientBoosting defaults, train + validation"),
    "linear": System(partial(run_sklearn, "linear"), about="one-hot + scaling (+ TF-IDF) + LogisticRegression / Ridge"),
    "lightgbm": System(run_lightgbm, about="LightGBM defaults on all training rows (train + validation)"),
    "autogluon": System(run_autogluon, seeds=1, about='AutoGluon 1.6 presets="medium", time_limit=120, first split'),
}
ANCHORS = ("lightgbm", "autogluon")
