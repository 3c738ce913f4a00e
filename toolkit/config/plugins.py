"""Parts users add to tk without editing it: feature types, encoders, losses, combiners, metrics, model kinds.

A plugin is a module with a function `register(registry)`. tk calls it with a `Registry` (nothing
is registered on import, no decorator runs as a side effect):

- installed packages: the entry point group `tk.plugins` (`[project.entry-points."tk.plugins"]
  cyclic = "tk_cyclic"` in the plugin's pyproject.toml); loaded once per process, the first time a
  config is validated or its schema is built (`load_installed`);
- the YAML: `plugins: [tk_cyclic, my_team.parts]`, module names imported before the config is
  validated (`load_modules`); the resolved config keeps the list, so a model directory reloads them.

The registries stay plain dicts in their rooms (INPUT_FEATURES / OUTPUT_FEATURES in
toolkit.features, COMBINER_CONFIGS in toolkit.config.combiners, MODEL_KINDS in toolkit.config.kinds,
the metric names in toolkit.scoring); `Registry` only checks and fills them, and records which
plugin gave each part (`owner`), so that a refusal names it. An encoder, a loss or a metric added to
an existing type makes the registry hold a subclass of that type (`_compose`, toolkit.config.plugin_compose) that knows it; the
config schema is rebuilt from the registries (toolkit.config.schema.config_model).

The torch code of an encoder, a loss or a combiner is named by its config class as "module:Name"
(`module = "my_pkg.nn:GatedCombiner"`), imported when a model is built: reading a config imports
no torch.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import get_args

from toolkit.config.combiners import COMBINER_CONFIGS
from toolkit.config.kinds import MODEL_KINDS
from toolkit.config.plugin_compose import compose
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features.base import InputFeature, OutputFeature, StrictModel
from toolkit.scoring.metrics import METRICS
from toolkit.scoring.names import LOWER_IS_BETTER

ENTRY_POINT_GROUP = "tk.plugins"
BUILTIN = "tk"

#: (part, name) → the plugin that registered it: ("input_feature", "cyclic") → "tk_cyclic"
OWNERS: dict[tuple[str, str], str] = {}
#: the classes as registered, before _compose adds plugin encoders, losses and metrics to them
BASE_CLASSES: dict[tuple[str, str], type] = {}
#: feature type → {encoder / loss name: its config class}, for inputs and outputs
ENCODERS: dict[str, dict[str, type]] = {}
LOSSES: dict[str, dict[str, type]] = {}
_loaded: list[str] = []  # plugins registered in this process, in order
_installed_done = False


def _builtin_owners() -> None:
    for name in INPUT_FEATURES:
        OWNERS.setdefault(("input_feature", name), BUILTIN)
    for name in OUTPUT_FEATURES:
        OWNERS.setdefault(("output_feature", name), BUILTIN)
    for name in COMBINER_CONFIGS:
        OWNERS.setdefault(("combiner", name), BUILTIN)
    for name in MODEL_KINDS:
        OWNERS.setdefault(("model_kind", name), BUILTIN)


_builtin_owners()


def owner(part: str, name: str) -> str:
    """The plugin that registered `name` as a `part` ("input_feature", "metric", …); "tk" for built-ins."""
    return OWNERS.get((part, name), BUILTIN)


def loaded() -> list[str]:
    """Plugins registered in this process, in order."""
    return list(_loaded)


def _tag(config: type, what: str, plugin: str) -> str:
    """The one value of `type: Literal[...]` in a part's config class."""
    if not (isinstance(config, type) and issubclass(config, StrictModel)):
        raise TkError(
            f"plugin {plugin!r}: the {what} config must be a toolkit.features.base.StrictModel "
            f"subclass (pydantic, unknown keys refused), got {config!r}"
        )
    field = config.model_fields.get("type")
    tags = get_args(field.annotation) if field is not None else ()
    if len(tags) != 1 or not isinstance(tags[0], str):
        raise TkError(
            f'plugin {plugin!r}: {config.__name__} needs `type: Literal["<name>"]` (one name), '
            f"the key the YAML selects it by"
        )
    return tags[0]


def _module_path(config: type, what: str, plugin: str) -> str:
    path = getattr(config, "module", None)
    if not (isinstance(path, str) and ":" in path):
        raise TkError(
            f'plugin {plugin!r}: {config.__name__} needs `module: ClassVar[str] = "package.module:Name"`, '
            f"the torch code of the {what} (imported when a model is built)"
        )
    return path


class Registry:
    """What a plugin's `register(registry)` receives: one method per kind of part.

    Every method refuses a name that is taken (by tk or another plugin) with one line naming both.
    """

    def __init__(self, plugin: str):
        self.plugin = plugin

    def _claim(self, part: str, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TkError(f"plugin {self.plugin!r}: a {part.replace('_', ' ')} needs a non-empty name, got {name!r}")
        taken = OWNERS.get((part, name))
        if taken is not None and taken != self.plugin:
            raise TkError(
                f"plugin {self.plugin!r}: {part.replace('_', ' ')} {name!r} is already registered "
                f"by {taken!r}; choose another name"
            )
        OWNERS[(part, name)] = self.plugin

    def input_feature(self, cls: type) -> None:
        """A new input type: a toolkit.features.base.InputFeature subclass with `type` and `Config`."""
        self._feature(cls, "input_feature", InputFeature, INPUT_FEATURES)

    def output_feature(self, cls: type) -> None:
        """A new output type: a toolkit.features.base.OutputFeature subclass with `type` and `Config`."""
        self._feature(cls, "output_feature", OutputFeature, OUTPUT_FEATURES)

    def _feature(self, cls, part: str, base: type, registry: dict) -> None:
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TkError(f"plugin {self.plugin!r}: {cls!r} is not a subclass of toolkit.features.base.{base.__name__}")
        name = getattr(cls, "type", None)
        config = getattr(cls, "Config", None)
        if not isinstance(name, str) or config is None:
            raise TkError(
                f"plugin {self.plugin!r}: {cls.__name__} needs class attributes `type` (the YAML "
                f"name) and `Config` (its pydantic config)"
            )
        if _tag(config, f"{name} feature", self.plugin) != name:
            raise TkError(
                f"plugin {self.plugin!r}: {cls.__name__}.Config's type is "
                f"{_tag(config, name, self.plugin)!r}, the class says {name!r}"
            )
        self._claim(part, name)
        BASE_CLASSES[(part, name)] = cls
        registry[name] = _compose(part, name)

    def encoder(self, feature_type: str, config: type) -> None:
        """A new encoder for an input type (built-in or a plugin's), selected by `encoder: {type: <name>}`.

        `config`: its pydantic block (`type: Literal["<name>"]`, its own keys) with class attributes
        `module = "pkg.mod:Encoder"`, called as `Encoder(feature, config)` → an nn.Module from the
        feature's preprocessed tensor to [N, d_out] with an int attribute `d_out`; and optionally
        `reads = {...}`: the built-in encoder block whose preprocessing it takes (default: that
        type's default encoder), e.g. `{"type": "passthrough"}` for a number's z-scored [N, 1].
        """
        self._variant(feature_type, config, "encoder", ENCODERS, "input_feature")

    def loss(self, feature_type: str, config: type) -> None:
        """A new loss for an output type, selected by `loss: {type: <name>}` on the output feature.

        `config` as for `encoder`, with `module = "pkg.mod:make_loss"` called as
        `make_loss(feature, config)` → a callable (decoder output, encoded target) → scalar tensor.
        """
        self._variant(feature_type, config, "loss", LOSSES, "output_feature")

    def _variant(self, feature_type: str, config: type, key: str, table: dict, part: str) -> None:
        registry = INPUT_FEATURES if part == "input_feature" else OUTPUT_FEATURES
        if feature_type not in registry:
            raise TkError(
                f"plugin {self.plugin!r}: {key} for unknown {part.replace('_', ' ')} type "
                f"{feature_type!r} (known: {', '.join(registry)})"
            )
        name = _tag(config, key, self.plugin)
        _module_path(config, key, self.plugin)
        base = BASE_CLASSES.get((part, feature_type), registry[feature_type])
        builtin = base.Config.model_fields.get(key)
        if builtin is not None and name in _tags_of(builtin.annotation):
            raise TkError(f"plugin {self.plugin!r}: {feature_type} {key} {name!r} is built in; choose another name")
        self._claim(key, f"{feature_type}.{name}")
        BASE_CLASSES.setdefault((part, feature_type), base)
        table.setdefault(feature_type, {})[name] = config
        registry[feature_type] = _compose(part, feature_type)

    def combiner(self, config: type) -> None:
        """A new combiner, selected by `combiner: {type: <name>}`: its pydantic block with
        `module = "pkg.mod:Combiner"`, built as `Combiner(widths, config)` (see toolkit.nn.combiners)."""
        name = _tag(config, "combiner", self.plugin)
        _module_path(config, "combiner", self.plugin)
        self._claim("combiner", name)
        COMBINER_CONFIGS[name] = config

    def metric(self, name: str, fn, *, outputs, higher_is_better: bool = True) -> None:
        """A new metric `fn(y, outputs) -> float` for the output types in `outputs`.

        `y`: the known targets as the output's `score` gets them (binary 0/1 [N], category class
        index [N], set multi-hot [N, C], number in the target's units [N]); `outputs`: that output's
        ONNX outputs without the `<name>::` prefix ({"label", "probabilities"} or {"value"}).
        It is reported beside the built-in metrics and can be `trainer.validation_metric`.
        """
        if not callable(fn):
            raise TkError(f"plugin {self.plugin!r}: metric {name!r} is not callable: {fn!r}")
        types = [outputs] if isinstance(outputs, str) else list(outputs)
        for t in types:
            if t not in OUTPUT_FEATURES:
                raise TkError(
                    f"plugin {self.plugin!r}: metric {name!r} for unknown output type {t!r} "
                    f"(known: {', '.join(OUTPUT_FEATURES)})"
                )
            if name in BASE_CLASSES.get(("output_feature", t), OUTPUT_FEATURES[t]).metric_names:
                raise TkError(f"plugin {self.plugin!r}: metric {name!r} is built into {t} outputs; choose another name")
        self._claim("metric", name)
        METRICS[name] = {"fn": fn, "outputs": tuple(types), "higher_is_better": bool(higher_is_better)}
        if not higher_is_better:
            LOWER_IS_BETTER.add(name)
        for t in types:
            BASE_CLASSES.setdefault(("output_feature", t), OUTPUT_FEATURES[t])
            OUTPUT_FEATURES[t] = _compose("output_feature", t)

    def model_kind(self, name: str, target: str) -> None:
        """A new `model_type`: "pkg.mod:Kind", a toolkit.models.base.ModelKind subclass."""
        if not (isinstance(target, str) and ":" in target):
            raise TkError(f'plugin {self.plugin!r}: model kind {name!r} needs "package.module:Class", got {target!r}')
        self._claim("model_kind", name)
        MODEL_KINDS[name] = target


def _tags_of(annotation) -> set[str]:
    """The `type` literals a config field accepts (a model, a union of models)."""
    out: set[str] = set()
    for t in get_args(annotation) or (annotation,):
        if isinstance(t, type) and issubclass(t, StrictModel) and "type" in t.model_fields:
            out |= {a for a in get_args(t.model_fields["type"].annotation) if isinstance(a, str)}
        elif get_args(t):
            out |= _tags_of(t)
    return out


def _compose(part: str, feature_type: str) -> type:
    """The registry entry for a type: its class as registered, or a subclass that knows the encoders,
    losses and metrics plugins added to it (toolkit.config.plugin_compose)."""
    base = BASE_CLASSES[(part, feature_type)]
    key, variants = ("encoder", ENCODERS) if part == "input_feature" else ("loss", LOSSES)
    metrics = {n: m for n, m in METRICS.items() if feature_type in m["outputs"]} if part == "output_feature" else {}
    return compose(base, key, dict(variants.get(feature_type, {})), metrics, owner)


# ---- loading -----------------------------------------------------------------------------------


def register(plugin: str, fn) -> None:
    """Call a plugin's `register` function with a Registry named `plugin` (once per plugin)."""
    if plugin in _loaded:
        return
    try:
        fn(Registry(plugin))
    except TkError:
        raise
    except Exception as e:
        raise TkError(f"plugin {plugin!r}: register(registry) failed: {type(e).__name__}: {e}") from None
    _loaded.append(plugin)


def _register_target(plugin: str, target, where: str):
    fn = target if callable(target) else getattr(target, "register", None)
    if not callable(fn):
        raise TkError(f"plugin {plugin!r} ({where}): has no function register(registry)")
    register(plugin, fn)


def load_modules(names, where: str = "config") -> None:
    """Import the YAML's `plugins:` modules and register each ("module" or "module:function")."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise TkError(f"{where}: plugins: expected a list of module names, got {names!r}")
    for name in names:
        module, _, attr = name.partition(":")
        if name in _loaded:
            continue
        try:
            target = importlib.import_module(module)
        except ImportError as e:
            raise TkError(
                f"{where}: plugins: cannot import {module!r}: {e} "
                "(install the package, or put the module on PYTHONPATH)"
            ) from None
        except Exception as e:
            raise TkError(f"{where}: plugins: importing {module!r} failed: {type(e).__name__}: {e}") from None
        if attr:
            target = getattr(target, attr, None)
            if target is None:
                raise TkError(f"{where}: plugins: {module!r} has no {attr!r}")
        _register_target(name, target, f"{where}: plugins")


def load_installed() -> None:
    """Register every installed package's `tk.plugins` entry point, once per process.

    TK_PLUGINS=0 in the environment skips them (the YAML's `plugins:` still load).
    """
    global _installed_done
    if _installed_done:
        return
    _installed_done = True
    import os

    if os.environ.get("TK_PLUGINS", "1") == "0":
        return
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        where = f"entry point {ENTRY_POINT_GROUP}: {ep.name} = {ep.value} (package {dist})"
        plugin = ep.value
        if plugin in _loaded:
            continue
        try:
            target = ep.load()
        except Exception as e:
            _installed_done = False
            raise TkError(
                f"plugin {plugin!r} ({where}): cannot load: {type(e).__name__}: {e}; fix or "
                f"uninstall {dist!r}, or set TK_PLUGINS=0"
            ) from None
        _register_target(plugin, target, where)


def used_by(cfg) -> list[str]:
    """The plugins whose parts `cfg` uses: its features' types, encoders and losses, its combiner, its
    model kind, the metric of `trainer.validation_metric`; in the order they were loaded."""
    owners = {owner("model_kind", cfg.model_type), owner("combiner", cfg.combiner.type)}
    for kind, configs in (("input", cfg.input_features), ("output", cfg.output_features)):
        for fc in configs:
            owners.add(owner(f"{kind}_feature", fc.type))
            for key in ("encoder", "loss"):
                tag = getattr(getattr(fc, key, None), "type", None)
                owners.add(owner(key, f"{fc.type}.{tag}"))
    if cfg.trainer.validation_metric:
        owners.add(owner("metric", cfg.trainer.validation_metric.rpartition(".")[2]))
    return [p for p in _loaded if p in owners]


def naming_its_plugins(cfg):
    """`cfg` with `plugins:` listing every plugin it uses (those loaded from entry points too), so the
    model directory's config.yaml says what loading it needs; `cfg` itself when it lists them all."""
    missing = [p for p in used_by(cfg) if p not in cfg.plugins]
    return cfg.model_copy(update={"plugins": [*cfg.plugins, *missing]}) if missing else cfg


def describe() -> str:
    """What `tk config plugins` prints: one line per plugin and the parts it registered."""
    parts: dict[str, list[str]] = {}
    for (part, name), who in OWNERS.items():
        if who != BUILTIN:
            parts.setdefault(who, []).append(f"{part.replace('_', ' ')} {name!r}")
    if not parts:
        return (
            f"no plugins: install a package with a {ENTRY_POINT_GROUP!r} entry point, or list modules "
            "under `plugins:` in the config (docs/extending.md)"
        )
    return "\n".join(f"{who}: {', '.join(sorted(names))}" for who, names in parts.items())


@contextmanager
def isolated():
    """Registries as they are now, restored on exit (for tests that register parts)."""
    global _installed_done
    dicts = (
        INPUT_FEATURES,
        OUTPUT_FEATURES,
        COMBINER_CONFIGS,
        MODEL_KINDS,
        METRICS,
        OWNERS,
        BASE_CLASSES,
        ENCODERS,
        LOSSES,
    )
    saved = [dict(d) for d in dicts]
    saved_lower, saved_loaded, saved_done = set(LOWER_IS_BETTER), list(_loaded), _installed_done
    try:
        yield
    finally:
        for d, s in zip(dicts, saved):
            d.clear()
            d.update(s)
        LOWER_IS_BETTER.clear()
        LOWER_IS_BETTER.update(saved_lower)
        _loaded[:] = saved_loaded
        _installed_done = saved_done
