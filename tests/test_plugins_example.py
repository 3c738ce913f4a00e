"""The example plugin (examples/plugin) end to end: `tk train` on its shipped config, exported, its model.onnx
alone in Python onnxruntime and in Node; broken plugins refused by `tk train` in one line; found by its entry
point; listed by `tk config plugins` without the heavy stack.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT
from tests.plugin_helpers import (
    EXAMPLE,
    cfg_dict,
    isolated_plugins,  # noqa: F401 (autouse: each test in plugins.isolated())
)
from toolkit.config import plugins

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
        from tests.plugin_helpers import RandomEncoder
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
