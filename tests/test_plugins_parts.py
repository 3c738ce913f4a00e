"""Plugin encoders, losses, combiners and model kinds on tk's built-in types, held to parity by check_combiner,
checked at train time, trained end to end; a model directory names the plugins it needs.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal

import numpy as np
import pytest
import yaml
from pydantic import Field

from tests.plugin_helpers import (
    EXAMPLE,
    Angle,
    NanGraph,
    cfg_dict,
    isolated_plugins,  # noqa: F401 (autouse: each test in plugins.isolated())
)
from toolkit.config import plugins
from toolkit.config.schema import json_schema, validate_config
from toolkit.errors import TkError
from toolkit.features.base import StrictModel
from toolkit.testing import ContractError, check_feature

# ---- encoders, losses, combiners and model kinds ------------------------------------------------


class SineEncoderConfig(StrictModel):
    """A number encoder: sin(w·z + b) features of the z-scored value."""

    type: Literal["sine"]
    size: int = Field(4, gt=0)
    module: ClassVar[str] = "tests.test_plugins_parts:SineEncoder"
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
    module: ClassVar[str] = "tests.test_plugins_parts:make_l1"


def make_l1(feature, config):
    import torch

    return torch.nn.L1Loss()


class SumCombinerConfig(StrictModel):
    type: Literal["sum"]
    width: int = Field(8, gt=0)
    module: ClassVar[str] = "tests.test_plugins_parts:SumCombiner"


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
        "plugins": ["tests.test_plugins_parts:register_parts"],
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
    module: ClassVar[str] = "tests.test_plugins_parts:NoisyCombiner"


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
