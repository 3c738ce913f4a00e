"""Parts users register (toolkit.config.plugins) and the contract they meet (toolkit.testing).

The example plugin (examples/plugin, package tk-cyclic: feature type `cyclic`, metric `brier`) end to
end: registered from the YAML and from its entry point, trained, exported, its model.onnx alone in
Python onnxruntime and in Node; broken plugins refused by check_feature and by `tk train` in one line.
Each test registers inside `plugins.isolated()`, so the registries are tk's own again afterwards.
"""

from __future__ import annotations

import json
import sys
from typing import ClassVar, Literal

import numpy as np
import pytest
import yaml
from pydantic import Field

from tests.conftest import ROOT
from toolkit.config import plugins
from toolkit.config.schema import config_model, json_schema, render, validate_config
from toolkit.errors import TkError
from toolkit.features.base import StrictModel
from toolkit.testing import ContractError, check_feature

EXAMPLE = ROOT / "examples" / "plugin"
if str(EXAMPLE) not in sys.path:  # importable without installing it (`make test` installs it too)
    sys.path.insert(0, str(EXAMPLE))

from tk_cyclic.feature import CyclicInput  # noqa: E402

HOURS = [0.0, 1.5, 6.0, 11.0, 12.0, 17.25, 22.0, 23.5, float("nan"), 30.0, -2.0, 7.0]


def cfg_dict(**extra) -> dict:
    return {
        "plugins": ["tk_cyclic"],
        "input_features": [{"name": "hour", "type": "cyclic"}],
        "output_features": [{"name": "late", "type": "binary"}],
        **extra,
    }


@pytest.fixture(autouse=True)
def _isolated():
    with plugins.isolated():
        yield


# ---- the contract ---------------------------------------------------------------------------------


def test_the_example_feature_meets_the_contract():
    check_feature(CyclicInput, HOURS)
    check_feature(CyclicInput, HOURS, config={"encoder": {"type": "passthrough"}, "preprocessing": {"period": 7}})


class NoEncoder(CyclicInput):
    encoder = CyclicInput.__mro__[1].encoder  # InputFeature's: not implemented


class NanGraph(CyclicInput):
    def to_onnx(self, g, raw):
        return g.op("Unsqueeze", raw, g.const(np.array([1], dtype=np.int64), name="axis"), name="pre")

    def output_width(self):
        return 1

    def encoder(self):
        from toolkit.nn.encoders import Passthrough

        return Passthrough()


class RandomEncoder(CyclicInput):
    """Its export draws other random numbers than torch: the ONNX file would answer differently."""

    def encoder(self):
        import torch

        class Noisy(torch.nn.Module):
            def forward(self, x):
                return x * (1 + 0.1 * torch.rand_like(x))

        return Noisy()

    def output_width(self):
        return 3


class NumpyState(CyclicInput):
    def state(self):
        return {"fill": np.array([self.fill_sin_, self.fill_cos_])}


class WrongWidth(CyclicInput):
    def output_width(self):
        return 5


@pytest.mark.parametrize(
    "cls, message",
    [
        (NoEncoder, "does not implement encoder"),
        (NanGraph, "to_onnx gives NaN or inf for raw value nan"),
        (RandomEncoder, "the encoder's ONNX export differs from torch by"),
        (NumpyState, "state() is not plain JSON"),
        (WrongWidth, "the encoder gives (19, 8) for 19 rows; [N, output_width()] is [19, 5]"),
    ],
)
def test_check_feature_names_what_a_type_lacks(cls, message):
    with pytest.raises(ContractError) as e:
        check_feature(cls, HOURS[:4])
    assert message in str(e.value) and "(type 'cyclic')" in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_check_feature_holds_outputs_to_parity():
    from toolkit.features import OUTPUT_FEATURES

    base = OUTPUT_FEATURES["number"]

    class Shifted(base):
        def predict(self, out):
            return {"value": out.astype(np.float64) * self.std_ + self.mean_ + 1.0}  # the graph has no + 1

    check_feature(base, [1.0, 2.5, 10.0, -3.0, 7.0])
    with pytest.raises(ContractError, match="to_onnx_post's value differs from predict's by 1.00e"):
        check_feature(Shifted, [1.0, 2.5, 10.0, -3.0, 7.0])


# ---- registering --------------------------------------------------------------------------------


def test_yaml_plugins_register_the_type_in_validation_schema_and_render():
    cfg = validate_config(cfg_dict())
    assert cfg.input_features[0].preprocessing.period == 24.0
    assert "tk_cyclic" in plugins.loaded() and plugins.owner("input_feature", "cyclic") == "tk_cyclic"
    rendered = yaml.safe_load(render(cfg))
    assert rendered["plugins"] == ["tk_cyclic"]
    assert rendered["input_features"][0]["encoder"] == {"type": "dense", "size": 8}
    schema = json.dumps(json_schema())
    assert '"const": "cyclic"' in schema and "One full cycle" in schema
    with pytest.raises(
        TkError,
        match=r"input_features\[0\]\.preprocessing\.perod: unknown key 'perod'; did you "
        r"mean 'period'\? \(valid keys: period\)",
    ):
        validate_config(cfg_dict(input_features=[{"name": "hour", "type": "cyclic", "preprocessing": {"perod": 7}}]))


def test_render_of_a_config_without_plugins_is_unchanged():
    cfg = validate_config(
        {"input_features": [{"name": "a", "type": "number"}], "output_features": [{"name": "y", "type": "binary"}]}
    )
    assert "plugins" not in render(cfg)
    assert config_model() is type(cfg)


class Angle(CyclicInput):
    type = "angle"

    class Config(CyclicInput.Config):
        type: Literal["angle"]


def test_the_config_model_follows_the_registries():
    before = config_model()
    plugins.Registry("angles").input_feature(Angle)
    after = config_model()
    from toolkit.config.schema import Config

    assert after is not before and issubclass(after, Config) and config_model() is after  # cached
    assert "angle" in str(after.model_json_schema()) and "angle" not in str(before.model_json_schema())
    with plugins.isolated():
        pass
    assert config_model() is after


def test_a_metric_is_scored_named_and_chosen_for_early_stopping():
    from toolkit.features import OUTPUT_FEATURES
    from toolkit.scoring.names import LOWER_IS_BETTER

    cfg = validate_config(cfg_dict(trainer={"validation_metric": "late.brier"}))
    assert cfg.validation_metric() == ("late", "brier") and "brier" in LOWER_IS_BETTER
    f = OUTPUT_FEATURES["binary"](cfg.output_features[0]).fit(np.array(["yes", "no", "yes", "no"], dtype=object))
    y = np.array([1, 0, 1, 0], dtype=np.float32)
    scores = f.score_raw(y, np.array([3.0, -3.0, 0.0, 0.0], dtype=np.float32))
    p = 1 / (1 + np.exp(-np.array([3.0, -3.0, 0.0, 0.0])))
    assert scores["brier"] == pytest.approx(np.mean((p - y) ** 2)) and "roc_auc" in scores
    with pytest.raises(TkError, match="binary output 'late' has no metric 'brie'"):
        validate_config(cfg_dict(plugins=[], trainer={"validation_metric": "late.brie"}))


def test_a_number_metric_gets_targets_in_their_units():
    from toolkit.features import OUTPUT_FEATURES

    plugins.Registry("errors").metric(
        "max_abs", lambda y, out: float(np.max(np.abs(out["value"] - y))), outputs="number", higher_is_better=False
    )
    cfg = validate_config(
        {
            "input_features": [{"name": "a", "type": "number"}],
            "output_features": [{"name": "y", "type": "number"}],
            "trainer": {"validation_metric": "y.max_abs"},
        }
    )
    f = OUTPUT_FEATURES["number"](cfg.output_features[0]).fit(np.array([10.0, 20.0, 30.0], dtype=np.float32))
    target = np.array([10.0, 20.0, 30.0])
    scores = f.score_raw(f.encode_target(target), np.array([0.0, 0.0, 0.0], dtype=np.float32))  # predicts 20
    assert scores["max_abs"] == pytest.approx(10.0) and scores["mae"] == pytest.approx(20 / 3)


def test_a_name_that_is_taken_is_refused_naming_both():
    registry = plugins.Registry("my_plugin")
    with pytest.raises(TkError, match="plugin 'my_plugin': input feature 'number' is already registered by 'tk'"):
        from toolkit.features.number import NumberInput

        registry.input_feature(NumberInput)
    with pytest.raises(TkError, match="plugin 'my_plugin': metric 'roc_auc' is built into binary outputs"):
        registry.metric("roc_auc", lambda y, o: 0.0, outputs=["binary"])
    with pytest.raises(TkError, match="plugin 'my_plugin': .*Config's type is 'cyclic', the class says 'hour'"):
        registry.input_feature(type("Hour", (CyclicInput,), {"type": "hour"}))


def test_a_broken_plugin_is_named(tmp_path, monkeypatch):
    (tmp_path / "broken_register.py").write_text("def register(registry):\n    raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TkError, match="plugin 'broken_register': register\\(registry\\) failed: RuntimeError: boom"):
        validate_config(cfg_dict(plugins=["broken_register"]))
    with pytest.raises(TkError, match="cfg.yaml: plugins: cannot import 'no_such_plugin_module'"):
        validate_config(cfg_dict(plugins=["no_such_plugin_module"]), "cfg.yaml")


def test_entry_points_are_loaded_once_without_being_listed(tmp_path, monkeypatch):
    """A package's `tk.plugins` entry point (a dist-info on sys.path, as pip writes it) registers its parts."""
    (tmp_path / "ep_plugin.py").write_text(
        "def register(registry):\n    from tests.test_plugins import Angle\n    registry.input_feature(Angle)\n"
    )
    info = tmp_path / "ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tk.plugins]\nangle = ep_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_installed_done", False)
    cfg = validate_config(
        {"input_features": [{"name": "a", "type": "angle"}], "output_features": [{"name": "y", "type": "binary"}]}
    )
    assert cfg.input_features[0].type == "angle" and plugins.owner("input_feature", "angle") == "ep_plugin"
    monkeypatch.setattr(plugins, "_installed_done", False)
    monkeypatch.setenv("TK_PLUGINS", "0")
    with plugins.isolated():
        from toolkit.features import INPUT_FEATURES

        INPUT_FEATURES.pop("angle")
        plugins.load_installed()
        assert "angle" not in INPUT_FEATURES


# ---- encoders, losses, combiners and model kinds ------------------------------------------------


class SineEncoderConfig(StrictModel):
    """A number encoder: sin(w·z + b) features of the z-scored value."""

    type: Literal["sine"]
    size: int = Field(4, gt=0)
    module: ClassVar[str] = "tests.test_plugins:SineEncoder"
    reads: ClassVar[dict] = {"type": "passthrough"}  # the number's z-scored [N, 1]


def SineEncoder(feature, config):  # noqa: N802  (a factory, named like the module it makes)
    import torch

    class Sine(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.d_out = torch.nn.Linear(1, config.size), config.size

        def forward(self, x):
            return torch.sin(self.linear(x))

    return Sine()


class L1LossConfig(StrictModel):
    type: Literal["l1"]
    module: ClassVar[str] = "tests.test_plugins:make_l1"


def make_l1(feature, config):
    import torch

    return torch.nn.L1Loss()


class SumCombinerConfig(StrictModel):
    type: Literal["sum"]
    width: int = Field(8, gt=0)
    module: ClassVar[str] = "tests.test_plugins:SumCombiner"


def SumCombiner(widths, config):  # noqa: N802
    import torch

    class Sum(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.projections = torch.nn.ModuleList(torch.nn.Linear(w, config.width) for w in widths)
            self.d_out = config.width

        def forward(self, encoded):
            return torch.relu(sum(p(x) for p, x in zip(self.projections, encoded)))

    return Sum()


def register_parts(registry):
    registry.encoder("number", SineEncoderConfig)
    registry.loss("number", L1LossConfig)
    registry.combiner(SumCombinerConfig)
    registry.model_kind("nn_again", "toolkit.models.nn:NnKind")


def parts_config(**extra) -> dict:
    return {
        "plugins": ["tests.test_plugins:register_parts"],
        "input_features": [
            {"name": "a", "type": "number", "encoder": {"type": "sine", "size": 3}},
            {"name": "b", "type": "number"},
        ],
        "output_features": [{"name": "y", "type": "number", "loss": {"type": "l1"}}],
        "combiner": {"type": "sum", "width": 6},
        "model_type": "nn_again",
        **extra,
    }


def test_an_encoder_a_loss_a_combiner_and_a_model_kind_on_built_in_types():
    import torch

    from toolkit.features import columns
    from toolkit.models import kind_of
    from toolkit.nn.network import TkModel

    cfg = validate_config(parts_config())
    assert type(cfg.input_features[0].encoder) is SineEncoderConfig
    assert cfg.input_features[1].encoder.type == "piecewise"
    assert kind_of(cfg.model_type).name == "nn"
    inputs, outputs = columns.make_features(cfg)
    col = np.array([1.0, 2.0, np.nan, 5.0, 8.0], dtype=np.float32)
    a = inputs[0].fit(col)
    assert a.state()["edges"] == []  # the passthrough preprocessing the sine encoder reads
    again = type(a).from_state(a.config, json.loads(json.dumps(a.state())))
    assert again.plugin_block.size == 3 and again.output_width() == 3
    inputs[1].fit(col)
    outputs[0].fit(col)
    assert isinstance(outputs[0].loss(), torch.nn.L1Loss)
    model = TkModel(inputs, outputs, cfg.combiner)
    assert model.combiner.d_out == 6 and model(torch.zeros(4, 1), torch.zeros(4, 8))[0].shape == (4,)
    check_feature(type(a), col, config={"encoder": {"type": "sine", "size": 3}})
    assert '"const": "sine"' in json.dumps(json_schema()) and '"const": "sum"' in json.dumps(json_schema())
    with pytest.raises(TkError, match=r"combiner\.type: unknown type 'sun'; did you mean 'sum'\?"):
        validate_config(parts_config(combiner={"type": "sun"}))


class NoisyCombinerConfig(SumCombinerConfig):
    type: Literal["noisy"]
    module: ClassVar[str] = "tests.test_plugins:NoisyCombiner"


def NoisyCombiner(widths, config):  # noqa: N802
    import torch

    inner = SumCombiner(widths, config)
    inner.forward = lambda encoded: torch.relu(sum(p(x) for p, x in zip(inner.projections, encoded))) + torch.rand(1)
    return inner


def test_check_combiner_holds_built_in_and_plugin_combiners_to_parity():
    from toolkit.config.combiners import ConcatCombinerConfig, TransformerCombinerConfig
    from toolkit.testing import check_combiner

    check_combiner(ConcatCombinerConfig(ensemble=1))
    check_combiner(TransformerCombinerConfig())
    check_combiner(SumCombinerConfig(type="sum"))
    with pytest.raises(ContractError, match="combiner 'noisy': its ONNX export differs from torch by .*parity broken"):
        check_combiner(NoisyCombinerConfig(type="noisy"))


def test_the_check_at_train_reads_a_streamed_source(tmp_path):
    from toolkit.data import readers
    from toolkit.testing.plugins import refuse_broken_plugins

    broken = type("NanGraph", (NanGraph,), {"type": "angle", "Config": Angle.Config})
    plugins.Registry("nan_graph").input_feature(broken)
    (tmp_path / "rows.csv").write_text("a,y\n" + "".join(f"{i % 24},{'yes' if i % 3 else 'no'}\n" for i in range(50)))
    cfg = validate_config(
        {"input_features": [{"name": "a", "type": "angle"}], "output_features": [{"name": "y", "type": "binary"}]}
    )
    with pytest.raises(
        TkError,
        match="plugin 'nan_graph': angle feature of input feature 'a' is refused: 'NanGraph' "
        r"\(type 'angle'\): to_onnx gives NaN or inf for raw value nan",
    ):
        refuse_broken_plugins(cfg, readers.Source(str(tmp_path / "rows.csv")))
    from toolkit.testing.plugins import _first_rows, plugin_parts

    rows = _first_rows(readers.Source(str(tmp_path / "rows.csv")), plugin_parts(cfg))
    assert rows["a"].tolist()[:3] == [0.0, 1.0, 2.0] and len(rows) == 50  # the file's rows, not a default


def test_training_with_plugin_parts_end_to_end(tmp_path):
    import pandas as pd

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    df["y"] = np.sin(df["a"]) + 0.5 * df["b"]
    model = train(parts_config(trainer={"epochs": 3, "batch_size": 32}), df, output=tmp_path / "m")
    assert (tmp_path / "m" / "model.onnx").exists()
    assert "y" in model.evaluate(df)


def test_a_model_directory_names_the_plugins_it_needs(tmp_path):
    """A type from an entry point (registered, not listed in the YAML) is named in the saved config.yaml."""
    import pandas as pd

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    plugins.register("tk_cyclic", __import__("tk_cyclic").register)  # as load_installed does
    cfg = cfg_dict(plugins=[], trainer={"epochs": 1})
    train(cfg, pd.read_csv(EXAMPLE / "hours.csv").head(80), output=tmp_path / "m")
    assert yaml.safe_load((tmp_path / "m" / "config.yaml").read_text())["plugins"] == ["tk_cyclic"]
    plain = validate_config(
        {"input_features": [{"name": "a", "type": "number"}], "output_features": [{"name": "y", "type": "binary"}]}
    )
    assert plugins.naming_its_plugins(plain) is plain


# ---- the example plugin end to end --------------------------------------------------------------


def hours_frame(n: int = 400, seed: int = 0):
    """`late` is yes at night (22:00-06:00): a circle, not a line, in the hour."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    hour = rng.uniform(0, 24, n)
    late = np.where((hour >= 22) | (hour < 6), "yes", "no")
    hour[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"hour": hour, "noise": rng.normal(size=n), "late": late})


@pytest.fixture()
def example_model(tmp_path):
    """`tk train examples/plugin/config.yaml` (the shipped config and data), then the model loaded."""
    import pandas as pd
    from typer.testing import CliRunner

    from toolkit import load
    from toolkit.cli.main import app
    from toolkit.common import log

    log.quiet = True
    result = CliRunner().invoke(app, ["train", str(EXAMPLE / "config.yaml"), "--output", str(tmp_path / "late")])
    assert result.exit_code == 0, result.output
    return load(tmp_path / "late"), tmp_path, pd.read_csv(EXAMPLE / "hours.csv")


def test_the_example_trains_exports_and_runs_alone_in_python_and_node(example_model):
    import shutil

    import onnxruntime as ort
    from typer.testing import CliRunner

    from tests.test_edge_node import (
        EDGE,
        assert_same,
        json_column,
        run_predict,
        write_json,
    )
    from toolkit.cli.main import app
    from toolkit.export.parity import concat_columns, edge_columns
    from toolkit.features import columns as prepare

    model, tmp, df = example_model
    scores = model.evaluate(df)["late"]
    assert scores["roc_auc"] > 0.95 and scores["brier"] < 0.1, scores  # the circle is learnt
    stats = json.loads((tmp / "late" / "training_stats.json").read_text())
    assert "brier" in json.dumps(stats)
    # tk export in a fresh registry: the saved config.yaml lists the plugin, so it loads again
    with plugins.isolated():
        from toolkit.features import INPUT_FEATURES

        INPUT_FEATURES.pop("cyclic", None)
        plugins._loaded[:] = [p for p in plugins._loaded if p != "tk_cyclic"]
        result = CliRunner().invoke(app, ["export", str(tmp / "late"), "--onnx", str(tmp / "late.onnx")])
        assert result.exit_code == 0, result.output
    columns = concat_columns(prepare.input_columns(model.inputs, df.head(50), "hours"), edge_columns(model))
    session = ort.InferenceSession(str(tmp / "late.onnx"), providers=["CPUExecutionProvider"])  # the file alone
    names = [o.name for o in session.get_outputs()]
    alone = dict(zip(names, session.run(None, columns)))
    from toolkit.runtime.predictor import Predictor

    ref = Predictor(tmp / "late" / "model.onnx").run(columns)
    assert (alone["late::label"] == ref["late::label"]).all()
    np.testing.assert_allclose(alone["late::probabilities"], ref["late::probabilities"], atol=1e-6)
    assert np.isfinite(alone["late::probabilities"]).all()
    node = shutil.which("node")
    if node is None or not (EDGE / "node_modules" / "onnxruntime-node" / "package.json").exists():
        pytest.skip("node or onnxruntime-node missing: `sh examples/edge/node/install.sh` (make test runs it)")
    rows = tmp / "rows.json"
    write_json(rows, {c: json_column(v) for c, v in columns.items()})
    assert_same(run_predict(node, tmp / "late.onnx", rows), ref, "onnxruntime-node")


HALF_DONE = """
from typing import Literal
from tk_cyclic.feature import CyclicInput
from toolkit.features.base import InputFeature
class Half(CyclicInput):
    type = "half"
    encoder = InputFeature.encoder  # forgotten
    class Config(CyclicInput.Config):
        type: Literal["half"]
def register(registry):
    registry.input_feature(Half)
"""
NOISY = """
from typing import Literal
from tk_cyclic.feature import CyclicInput
class Half(CyclicInput):
    type = "half"
    class Config(CyclicInput.Config):
        type: Literal["half"]
    def encoder(self):
        from tests.test_plugins import RandomEncoder
        return RandomEncoder.encoder(self)
    def output_width(self):
        return 3
def register(registry):
    registry.input_feature(Half)
"""


@pytest.mark.parametrize(
    "source, lacks",
    [
        (HALF_DONE, "does not implement encoder (toolkit.features.base.InputFeature)"),
        (NOISY, "the encoder's ONNX export differs from torch by"),
    ],
)
def test_tk_train_refuses_a_broken_plugin_in_one_line(tmp_path, monkeypatch, source, lacks):
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    (tmp_path / "half_done.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("half_done", None)
    df = hours_frame(60)
    (tmp_path / "hours.csv").write_text(df.to_csv(index=False))
    cfg = cfg_dict(
        plugins=["half_done"], input_features=[{"name": "hour", "type": "half"}], dataset=str(tmp_path / "hours.csv")
    )
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["train", str(tmp_path / "cfg.yaml"), "--output", str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "half_done" in line]
    assert len(lines) == 1 and lines[0].startswith(
        "error: plugin 'half_done': half feature of input feature 'hour' is refused: 'Half' (type 'half'): "
    ), result.output
    assert lacks in lines[0] and not (tmp_path / "m").exists()


def test_the_installed_example_is_found_by_its_entry_point():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=plugins.ENTRY_POINT_GROUP) if ep.value == "tk_cyclic"]
    if not found:
        pytest.skip("tk-cyclic is not installed: `pip install -e examples/plugin` (make test installs it)")
    assert found[0].name == "cyclic" and found[0].load().register.__module__ == "tk_cyclic"


def test_tk_config_plugins_lists_them_and_stays_light(tmp_path, monkeypatch):
    import os

    from tests.test_cli_light import _assert_light

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(EXAMPLE), os.environ.get("PYTHONPATH", "")]))
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg_dict()))
    out = _assert_light(["config", "plugins", str(tmp_path / "cfg.yaml")])
    assert "tk_cyclic: input feature 'cyclic', metric 'brier'" in out, out
