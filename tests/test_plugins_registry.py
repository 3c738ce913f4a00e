"""Registering parts (toolkit.config.plugins): from the YAML's `plugins:` and from a `tk.plugins` entry point,
into validation, the JSON schema and render; metrics; names that are taken; plugins that fail to load.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.plugin_helpers import (
    Angle,
    CyclicInput,
    cfg_dict,
    isolated_plugins,  # noqa: F401 (autouse: each test in plugins.isolated())
)
from toolkit.config import plugins
from toolkit.config.schema import config_model, json_schema, render, validate_config
from toolkit.errors import TkError

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
        "def register(registry):\n    from tests.plugin_helpers import Angle\n    registry.input_feature(Angle)\n"
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
