"""Check a config's hyperopt section against the config itself: the metric and every searched path."""

from __future__ import annotations

from toolkit.config import hyperopt as space
from toolkit.config.messages import did_you_mean
from toolkit.errors import TkError
from toolkit.features import OUTPUT_FEATURES
from toolkit.hyperopt import apply
from toolkit.scoring.names import COMBINED


def check_section(section: "space.HyperoptConfig", data: dict, cfg, label: str) -> None:
    """Check the section against the config; raise TkError with one line per problem."""
    problems = []
    if section.metric is not None:
        name, _, metric = section.metric.rpartition(".")
        outputs = {f.name: OUTPUT_FEATURES[f.type] for f in cfg.output_features}
        if not name:
            problems.append(
                f"hyperopt.metric: {section.metric!r} is not <output>.<metric>, e.g. {next(iter(outputs))}.loss"
            )
        elif name == COMBINED and name not in outputs:
            if metric != "loss":
                problems.append(f"hyperopt.metric: {COMBINED} has only 'loss', got {metric!r}")
        elif name not in outputs:
            problems.append(
                f"hyperopt.metric: {section.metric!r} names no output feature{did_you_mean(name, outputs)} "
                f"(outputs: {', '.join(outputs)})"
            )
        elif metric not in outputs[name].metric_names:
            problems.append(
                f"hyperopt.metric: {outputs[name].type} output {name!r} has no metric "
                f"{metric!r}{did_you_mean(metric, outputs[name].metric_names)} "
                f"(choose from {', '.join(outputs[name].metric_names)})"
            )
    for path, param in section.parameters.items():
        where = f"hyperopt.parameters.{path}"
        try:
            apply.check_path(data, path)
        except apply.PathError as e:
            problems.append(f"{where}: {e}")
            continue
        if section.sampler == "grid" and space.grid_values(param) is None:
            problems.append(f"{where}: the grid sampler needs choice, int or uniform with step, got {param.space}")
    if problems:
        raise TkError("\n".join(f"{label}: {p}" for p in problems))
