"""The `hyperopt:` config section and its checks against the rest of the config.

    hyperopt:
      metric: churn.roc_auc          # <output>.<metric>; direction inferred, or `goal:`
      trials: 30
      timeout_minutes: 20
      sampler: tpe                   # tpe | random | grid
      pruner: median                 # median | hyperband | none
      parameters:
        trainer.learning_rate: {space: loguniform, low: 1.0e-4, high: 1.0e-2}
        combiner.type: {space: choice, values: [concat, transformer]}

Pydantic checks each parameter on its own (low < high, low > 0 for log scales,
a non-empty choice); toolkit.hyperopt.checks checks the section against the config
(paths exist, the metric's output and metric exist, grid needs finite spaces).
Nothing here imports optuna; `suggest` receives the Optuna trial.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from toolkit.features.base import StrictModel
from toolkit.scoring.names import LOWER_IS_BETTER


class _Range(StrictModel):
    @model_validator(mode="after")
    def _low_below_high(self):
        if self.low >= self.high:
            # a leading "." asks config.describe_error to append to this block's path
            raise ValueError(f".low: must be < high, got {self.low} >= {self.high}")
        return self


def _check_step(low, high, step) -> None:
    """(high - low) must be a whole number of steps (Optuna's own check, in decimals).

    Optuna would otherwise lower `high` with a warning, and the grid sampler
    would draw a point outside [low, high].
    """
    span = Decimal(str(high)) - Decimal(str(low))
    if span % Decimal(str(step)) != 0:
        raise ValueError(f".step: (high - low) must be a multiple of step, got high - low = {span}, step {step}")


class Uniform(_Range):
    """A float drawn uniformly from [low, high] (on a grid of `step` when given)."""

    space: Literal["uniform"]
    low: float
    high: float
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _whole_steps(self):
        if self.step is not None and self.low < self.high:
            _check_step(self.low, self.high, self.step)
        return self


class LogUniform(_Range):
    """A float drawn uniformly on a log scale from [low, high]; low > 0."""

    space: Literal["loguniform"]
    low: float = Field(gt=0)
    high: float


class IntRange(_Range):
    """An integer from low to high inclusive, every `step` (or on a log scale)."""

    space: Literal["int"]
    low: int
    high: int
    step: int = Field(1, gt=0)
    log: bool = False

    @model_validator(mode="after")
    def _log_and_step(self):
        if self.log and self.low <= 0:
            raise ValueError(f".low: must be > 0 with log: true, got {self.low}")
        if self.log and self.step != 1:  # Optuna cannot sample a stepped log scale
            raise ValueError(f".step: must be 1 with log: true, got {self.step}")
        if self.low < self.high:
            _check_step(self.low, self.high, self.step)
        return self


class Choice(StrictModel):
    """One of `values` (numbers, strings, booleans, or whole blocks such as lists)."""

    space: Literal["choice"]
    values: list[Any]

    @field_validator("values")
    @classmethod
    def _not_empty(cls, values):
        if not values:
            raise ValueError("must list at least one value, got []")
        return values


Parameter = Annotated[Uniform | LogUniform | IntRange | Choice, Field(discriminator="space")]


class HyperoptConfig(StrictModel):
    """What `tk hyperopt` searches and how; `tk train` ignores this section."""

    metric: str | None = Field(
        None,
        description="`output.metric` to optimise on the validation split; "
        "default trainer.validation_metric, else the output's loss.",
    )
    goal: Literal["minimize", "maximize"] | None = Field(
        None, description="Default: minimize for loss, mae, rmse, mse; maximize otherwise."
    )
    trials: int = Field(20, ge=1, description="Trials in the study in total (a re-run resumes up to this).")
    timeout_minutes: float | None = Field(None, gt=0, description="Start no new trial after this long.")
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "hyperband", "none"] = Field(
        "median", description="Stops trials early from their per-epoch validation metric."
    )
    seed: int | None = Field(None, description="Sampler seed (each worker process adds its index).")
    parameters: dict[str, Parameter] = Field(
        description="Dotted config path → search space; features by name, e.g. input_features.review.encoder.type."
    )

    @field_validator("parameters")
    @classmethod
    def _some_parameters(cls, parameters):
        if not parameters:
            raise ValueError("must name at least one config path to search")
        return parameters


def direction(section: HyperoptConfig, metric: str) -> str:
    """'minimize' or 'maximize' for `metric` (e.g. 'roc_auc'), unless `goal` says."""
    if section.goal:
        return section.goal
    return "minimize" if metric in LOWER_IS_BETTER else "maximize"


def resolve_metric(section: HyperoptConfig, cfg) -> tuple[str, str]:
    """(output name, metric) to optimise: `metric`, else the config's validation metric."""
    if section.metric is None:
        return cfg.validation_metric()
    name, _, metric = section.metric.rpartition(".")
    return name, metric


def grid_values(param) -> list | None:
    """Every value of a finite space (for the grid sampler), or None when it is continuous."""
    if isinstance(param, Choice):
        return [encode_choice(v) for v in param.values]
    if isinstance(param, IntRange) and not param.log:
        return list(range(param.low, param.high + 1, param.step))
    if isinstance(param, Uniform) and param.step:
        low, step = Decimal(str(param.low)), Decimal(str(param.step))
        n = int((Decimal(str(param.high)) - low) / step)  # whole: checked by Uniform
        return [float(low + i * step) for i in range(n + 1)]
    return None


def encode_choice(value):
    """Optuna stores None/bool/int/float/str; a list or block travels as its JSON text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def decode_choice(param: Choice, stored):
    """The config value for a stored choice (inverse of `encode_choice`)."""
    for value in param.values:
        if encode_choice(value) == stored:
            return value
    return stored


def suggest(trial, path: str, param):
    """Ask the Optuna `trial` for a value of `param`, named by its config path."""
    if isinstance(param, Choice):
        return decode_choice(param, trial.suggest_categorical(path, [encode_choice(v) for v in param.values]))
    if isinstance(param, IntRange):
        return trial.suggest_int(path, param.low, param.high, step=param.step, log=param.log)
    if isinstance(param, LogUniform):
        return trial.suggest_float(path, param.low, param.high, log=True)
    return trial.suggest_float(path, param.low, param.high, step=param.step)


def from_params(section: HyperoptConfig, params: dict) -> dict:
    """A finished trial's stored params → {path: config value}."""
    out = {}
    for path, stored in params.items():
        param = section.parameters.get(path)
        out[path] = decode_choice(param, stored) if isinstance(param, Choice) else stored
    return out
