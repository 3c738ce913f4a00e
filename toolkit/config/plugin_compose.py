"""A feature type with the encoders, losses and metrics plugins added to it, as one class.

toolkit.config.plugins records what each plugin registered; `compose` builds the class the registry
then holds: a subclass of the built-in type whose Config accepts the plugin's block beside the
built-in one (pydantic union, left to right), whose `encoder()` / `loss()` build the plugin's torch
code ("module:Name", imported only when a model is built) and whose `score` adds the plugin metrics.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Union

from pydantic import Field, create_model

from toolkit.errors import TkError
from toolkit.features.base import StrictModel


def _load(path: str):
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise TkError(f"cannot import {path!r} ({e})") from None


def _variant_config(base_config: type, key: str, variants: dict[str, type]):
    """(the feature Config with `key` accepting the variants, the carrier class, the built-in block class)."""
    field = base_config.model_fields.get(key)
    builtin = field.annotation if field is not None else None
    builtin_cls = builtin if isinstance(builtin, type) and issubclass(builtin, StrictModel) else None
    members = ((builtin,) if builtin is not None else (type(None),)) + tuple(variants.values())
    annotation = Annotated[Union[members], Field(union_mode="left_to_right")]  # noqa: UP007
    default = field.default if field is not None else None
    config = create_model(
        base_config.__name__, __base__=base_config, __module__=base_config.__module__, **{key: (annotation, default)}
    )
    carrier = None
    if builtin_cls is not None:  # the built-in block that also carries the plugin's block (see compose)
        carrier = create_model(
            f"{builtin_cls.__name__}WithPlugin", __base__=builtin_cls, plugin=(Any, Field(None, exclude=True))
        )
    return config, carrier, builtin_cls


def compose(base: type, key: str, mine: dict[str, type], metrics: dict[str, dict], owner) -> type:
    """`base` (a feature class as registered) itself when no plugin added to it, else a subclass whose
    Config accepts the plugin blocks `mine` under `key` ("encoder" or "loss": {tag: config class}) and
    whose score adds `metrics` ({name: {"fn", "outputs", …}}); `owner(part, name)` names a failing
    metric's plugin."""
    if not mine and not metrics:
        return base
    attrs: dict[str, Any] = {"__module__": base.__module__, "__doc__": base.__doc__, "plugin_base": base}
    if mine:
        config, carrier, builtin_cls = _variant_config(base.Config, key, mine)
        plugin_types = tuple(mine.values())
        attrs["Config"] = config

        def __init__(self, cfg, _key=key, _carrier=carrier, _builtin=builtin_cls, _types=plugin_types):
            block = getattr(cfg, _key, None)
            self.plugin_block = None
            if isinstance(block, _types):  # the built-in code sees the block it reads; the plugin's rides along
                self.plugin_block = block
                stand_in = _carrier(**getattr(type(block), "reads", {}), plugin=block) if _carrier else None
                cfg = cfg.model_copy(update={_key: stand_in})
            elif _carrier is not None and isinstance(block, _carrier) and block.plugin is not None:
                self.plugin_block = block.plugin  # from_state(f.config, …) hands the stand-in back
            base.__init__(self, cfg)

        attrs["__init__"] = __init__
        if key == "encoder":

            def encoder(self):
                if self.plugin_block is None:
                    return base.encoder(self)
                return _load(type(self.plugin_block).module)(self, self.plugin_block)

            def output_width(self):
                if self.plugin_block is None:
                    return base.output_width(self)
                import torch

                with torch.random.fork_rng():  # the width, without moving the seed of the real build
                    return int(self.encoder().d_out)

            attrs["encoder"], attrs["output_width"] = encoder, output_width
        else:

            def loss(self):
                if self.plugin_block is None:
                    return base.loss(self)
                return _load(type(self.plugin_block).module)(self, self.plugin_block)

            attrs["loss"] = loss
    if metrics:
        attrs["metric_names"] = tuple(base.metric_names) + tuple(n for n in metrics if n not in base.metric_names)

        def score(self, y, outputs):
            scores = base.score(self, y, outputs)
            prefix = f"{self.config.name}::"
            mine_out = {k[len(prefix) :]: v for k, v in outputs.items() if k.startswith(prefix)}
            target = metric_target(self, y)
            for n, m in metrics.items():
                scores[n] = _safe_metric(m["fn"], target, mine_out, n, owner)
            return scores

        attrs["score"] = score
    return type(base.__name__, (base,), attrs)


def metric_target(feature, y):
    """`y` as a plugin metric gets it: an output that trains on a z-score (it has learned `mean_` and
    `std_`, as number does) gives it back in the target's units; any other as its `score` gets it."""
    mean, std = getattr(feature, "mean_", None), getattr(feature, "std_", None)
    if isinstance(mean, float) and isinstance(std, float):
        return y * std + mean
    return y


def _safe_metric(fn, y, outputs, name: str, owner) -> float:
    import math
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn(y, outputs))
    except ValueError:
        return math.nan
    except Exception as e:  # a plugin's bug: name the plugin and the metric
        raise TkError(f"plugin {owner('metric', name)!r}: metric {name!r} failed: {type(e).__name__}: {e}") from None
    return value
