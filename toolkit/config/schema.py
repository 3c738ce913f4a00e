"""The config schema: YAML → pydantic, every default filled in.

`load_config(path)` returns a validated `Config` or raises TkError with one
line per problem, each naming the YAML path:
    cfg.yaml: input_features[2].encoder.dim: input should be greater than 0, got -4
Feature blocks are discriminated unions on `type`, built from the registries
in toolkit.features (and the combiner block from toolkit.config.combiners).

Plugins (toolkit.config.plugins) add to those registries, so the model that
validates a config is built for the registries as they are: `config_model()`
returns `Config` itself while they hold the built-in parts only, else a
subclass of it whose unions hold the plugins' parts too (one per registry
state, cached). `validate_config` loads the installed plugins and the YAML's
`plugins:` first; `json_schema` and `render` follow the same model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from toolkit.config import plugins
from toolkit.config.combiners import COMBINER_CONFIGS, ConcatCombinerConfig
from toolkit.config.gbm import GbmConfig
from toolkit.config.hyperopt import HyperoptConfig
from toolkit.config.kinds import MODEL_KINDS
from toolkit.config.messages import describe_error, did_you_mean
from toolkit.errors import TkError
from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES
from toolkit.features.base import StrictModel
from toolkit.scoring.names import COMBINED


def tagged_union(configs):
    """The config classes as one block selected by its `type` key."""
    return Annotated[Union[tuple(configs)], Field(discriminator="type")]  # noqa: UP007 (a union built at run time)


InputFeatureConfig = tagged_union(cls.Config for cls in INPUT_FEATURES.values())
OutputFeatureConfig = tagged_union(cls.Config for cls in OUTPUT_FEATURES.values())


class RandomSplit(StrictModel):
    type: Literal["random"] = "random"
    ratios: tuple[float, float, float] = Field(
        (0.8, 0.2, 0.0),
        description="train, validation, test. The validation rows pick the epoch or tree count, "
        "the threshold and the temperature, then join the training rows (trainer.refit); no test rows by default: "
        "`tk evaluate` scores the model on a file of your own.",
    )
    seed: int = 42

    @model_validator(mode="after")
    def _ratios_sum_to_one(self):
        if any(r < 0 for r in self.ratios) or abs(sum(self.ratios) - 1) > 1e-6 or self.ratios[0] <= 0:
            raise ValueError(f"ratios must be >= 0, train > 0 and sum to 1, got {list(self.ratios)}")
        return self


class StratifiedSplit(RandomSplit):
    type: Literal["stratified"] = "stratified"
    column: str | None = Field(None, description="Column to stratify on; default the first output.")


class FixedSplit(StrictModel):
    type: Literal["fixed"] = "fixed"
    column: str = Field("split", description="Holds 0/1/2 or train/validation/test per row.")


Split = Annotated[RandomSplit | StratifiedSplit | FixedSplit, Field(discriminator="type")]


class Preprocessing(StrictModel):
    split: Split = RandomSplit()


Combiner = tagged_union(COMBINER_CONFIGS.values())


class TrainerConfig(StrictModel):
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(128, gt=0)
    learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    lr_scheduler: Literal["cosine", "plateau", "none"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0)
    early_stop: int = Field(8, ge=0, description="Stop after this many epochs without improvement; 0 = never.")
    refit: bool = Field(
        True,
        description="After the validation rows have picked the size (the network's best "
        "epoch count, the trees' rounds), train again on train + validation rows at that size, so "
        "the final model learns from every row it may; test rows are never trained on. The metrics "
        "tk reports are the first model's, on rows it did not learn from. Data in memory, one "
        "process; streamed or several processes keep the first model.",
    )
    validation_metric: str | None = Field(
        None, description="`output.metric`, e.g. churn.roc_auc, or combined.loss (the default with several outputs)."
    )
    grad_clip: float | None = Field(1.0, gt=0)
    seed: int = 42
    threads: int | None = Field(
        None, gt=0, description="torch threads; default 1 for models under 1 M parameters, else all cores."
    )
    device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu",
        description="cpu, cuda, or auto (the GPU when torch sees one). The exported ONNX is the same float32 file.",
    )
    precision: Literal["fp32", "bf16"] = Field(
        "fp32",
        description="bf16: forward and loss under torch.autocast (bfloat16) on the training device; "
        "weights, optimizer and the exported ONNX stay float32.",
    )
    shuffle_buffer: int = Field(
        100_000,
        ge=1,
        description="Streaming training: rows in the shuffle buffer (data streamed from large files, globs, directories or --nproc > 1).",
    )


class Config(StrictModel):
    dataset: str | None = Field(None, description="Data file, relative to this config file.")
    plugins: list[str] = Field(
        [],
        description="Modules (importable: installed or on PYTHONPATH) whose "
        "register(registry) adds feature types, encoders, losses, combiners, metrics or "
        "model kinds, loaded before this config is validated; installed packages' "
        "`tk.plugins` entry points load without being listed (docs/extending.md).",
    )
    input_features: list[InputFeatureConfig] = Field(min_length=1)
    output_features: list[OutputFeatureConfig] = Field(min_length=1)
    model_type: str = Field(
        "nn",
        json_schema_extra=lambda schema: schema.update(enum=list(MODEL_KINDS)),
        description="nn: encoders → combiner → decoders (torch); gbm: LightGBM trees on the same "
        "preprocessing, one booster per output, in the same one-file ONNX; auto: both on the "
        "same split, the better on the validation metric kept; ensemble: both, their outputs "
        "averaged inside the graph. A plugin may register more (toolkit.config.kinds).",
    )
    combiner: Combiner = ConcatCombinerConfig()
    gbm: GbmConfig = Field(GbmConfig(), description="LightGBM's parameters when model_type is gbm.")
    trainer: TrainerConfig = TrainerConfig()
    preprocessing: Preprocessing = Preprocessing()
    hyperopt: HyperoptConfig | None = Field(None, description="What `tk hyperopt` searches; `tk train` ignores it.")

    @model_validator(mode="before")
    @classmethod
    def _default_union_types(cls, data: Any) -> Any:
        """`combiner: {hidden_size: 64}` means the default type, as `split: {ratios: …}` does."""
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("combiner"), dict) and "type" not in data["combiner"]:
                data["combiner"] = {"type": "concat", **data["combiner"]}
            pre = data.get("preprocessing")
            if isinstance(pre, dict) and isinstance(pre.get("split"), dict) and "type" not in pre["split"]:
                data["preprocessing"] = {**pre, "split": {"type": "random", **pre["split"]}}
            if data.get("model_type") == "gbm" and isinstance(data.get("input_features"), list):
                data["input_features"] = [gbm_number_defaults(f) for f in data["input_features"]]
        return data

    @field_validator("model_type")
    @classmethod
    def _a_registered_kind(cls, value: str) -> str:
        if value not in MODEL_KINDS:
            names = list(MODEL_KINDS)
            choices = ", ".join(repr(n) for n in names[:-1]) + f" or {names[-1]!r}"
            raise ValueError(f"got {value!r}{did_you_mean(value, names)} (choose from {choices})")
        return value

    @model_validator(mode="after")
    def _names_and_metric(self):
        seen: dict[str, str] = {}
        for kind in ("input_features", "output_features"):
            for i, f in enumerate(getattr(self, kind)):
                if f.name in seen:
                    raise ValueError(f"{kind}[{i}].name: duplicate feature name {f.name!r} (also {seen[f.name]})")
                seen[f.name] = f"{kind}[{i}]"
        if self.model_type != "gbm":
            for i, f in enumerate(self.input_features):
                if f.type == "number" and f.preprocessing.missing_value_strategy == "keep":
                    raise ValueError(
                        f"input_features[{i}].preprocessing.missing_value_strategy: keep needs "
                        "model_type: gbm (a network cannot take NaN); use mean, median or constant"
                    )
        in_cols = {f.source for f in self.input_features}
        for i, f in enumerate(self.output_features):
            if f.source in in_cols:
                raise ValueError(f"output_features[{i}]: column {f.source!r} is also an input feature")
        metric = self.trainer.validation_metric
        if metric is not None:
            outputs = {f.name: OUTPUT_FEATURES[f.type] for f in self.output_features}
            name, _, m = metric.rpartition(".")
            if name == COMBINED and name not in outputs:
                if m != "loss":
                    raise ValueError(f"trainer.validation_metric: {COMBINED} has only 'loss', got {m!r}")
                return self
            if name not in outputs:
                raise ValueError(
                    f"trainer.validation_metric: {metric!r} names no output feature; "
                    f"use <output>.<metric> with output in {sorted(outputs)}"
                )
            if m not in outputs[name].metric_names:
                raise ValueError(
                    f"trainer.validation_metric: {outputs[name].type} output "
                    f"{name!r} has no metric {m!r}; choose from {list(outputs[name].metric_names)}"
                )
        return self

    def validation_metric(self) -> tuple[str, str]:
        """(output name, metric) used for early stopping and best weights.

        Default: the only output's default metric; with several outputs, the
        weighted sum of their validation losses, named ("combined", "loss").
        """
        if self.trainer.validation_metric:
            name, _, metric = self.trainer.validation_metric.rpartition(".")
            return name, metric
        if len(self.output_features) > 1:
            return COMBINED, "loss"
        first = self.output_features[0]
        return first.name, OUTPUT_FEATURES[first.type].default_metric


def gbm_number_defaults(feature):
    """A number input of a gbm model, unless the config says otherwise: its raw value (NaN kept,
    clamped to the training range, not rescaled) as one column — trees need no scaling, and LightGBM
    routes missing values itself (mean-imputed, piecewise-linear columns lost up to 0.02 ROC AUC)."""
    if not (isinstance(feature, dict) and feature.get("type") == "number"):
        return feature
    pre = feature.get("preprocessing") if isinstance(feature.get("preprocessing"), dict) else {}
    return {
        **feature,
        "encoder": feature.get("encoder", {"type": "passthrough"}),
        "preprocessing": {"normalization": "none", "missing_value_strategy": "keep", **pre},
    }


def load_config(source: str | Path | dict) -> Config:
    """Read and validate a config from a YAML path or a dict."""
    label = "config"
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        label = str(path)
        data = read_yaml(path)
    return validate_config(data, label)


def read_yaml(path: Path) -> dict:
    """Parse a YAML mapping, or raise TkError naming the file and line."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TkError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TkError(f"{path}: cannot read: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise TkError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise TkError(f"{path}: expected a mapping with input_features and output_features, got {type(data).__name__}")
    return data


def registry_state() -> tuple:
    """What the config model is built from: the feature and combiner registries, as they are now."""
    return (tuple(INPUT_FEATURES.items()), tuple(OUTPUT_FEATURES.items()), tuple(COMBINER_CONFIGS.items()))


_BUILTIN_STATE = registry_state()
_models: dict[tuple, type[Config]] = {}


def config_model() -> type[Config]:
    """The Config model for the registries as they are now (installed plugins loaded first):
    `Config` while they hold tk's own parts only, else a cached subclass with the plugins' parts."""
    plugins.load_installed()
    state = registry_state()
    if state == _BUILTIN_STATE:
        return Config
    model = _models.get(state)
    if model is None:
        model = create_model(
            "Config",
            __base__=Config,
            __module__=__name__,
            input_features=(list[tagged_union(c.Config for c in INPUT_FEATURES.values())], Field(min_length=1)),
            output_features=(list[tagged_union(c.Config for c in OUTPUT_FEATURES.values())], Field(min_length=1)),
            combiner=(tagged_union(COMBINER_CONFIGS.values()), ConcatCombinerConfig()),
        )
        _models[state] = model
    return model


def validate_config(data: dict, label: str = "config") -> Config:
    plugins.load_installed()
    if isinstance(data, dict) and isinstance(data.get("plugins"), list):
        plugins.load_modules(data["plugins"], label)
    model = config_model()
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"{label}: {describe_error(err, model)}" for err in e.errors()]
        raise TkError("\n".join(lines)) from None


def render(config: Config) -> str:
    """The config as YAML with every default filled in (`plugins:` only when it lists some)."""
    import yaml

    skip = {k for k, empty in (("hyperopt", config.hyperopt is None), ("plugins", not config.plugins)) if empty}
    data = config.model_dump(mode="json", exclude=skip or None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def json_schema() -> dict:
    """JSON Schema of the config (for editor autocomplete), with the registered plugins' parts."""
    schema = config_model().model_json_schema()
    schema["title"] = "tk config"
    return schema
