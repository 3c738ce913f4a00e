"""Shared by the plugin tests (tests/test_plugins_*.py): the example plugin (examples/plugin, package
tk-cyclic: feature type `cyclic`, metric `brier`) made importable, a config that uses it, broken variants of
its feature type, a second type `angle`, and the fixture that keeps each test's registrations to itself.
"""

from __future__ import annotations

import sys
from typing import Literal

import numpy as np
import pytest

from tests.conftest import ROOT
from toolkit.config import plugins

EXAMPLE = ROOT / "examples" / "plugin"
if str(EXAMPLE) not in sys.path:  # importable without installing it (`make test` installs it too)
    sys.path.insert(0, str(EXAMPLE))

from tk_cyclic.feature import CyclicInput  # noqa: E402


def cfg_dict(**extra) -> dict:
    return {
        "plugins": ["tk_cyclic"],
        "input_features": [{"name": "hour", "type": "cyclic"}],
        "output_features": [{"name": "late", "type": "binary"}],
        **extra,
    }


@pytest.fixture(autouse=True)
def isolated_plugins():
    """Autouse where imported: each test registers inside `plugins.isolated()`, so the registries are tk's own
    again afterwards."""
    with plugins.isolated():
        yield


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


class Angle(CyclicInput):
    type = "angle"

    class Config(CyclicInput.Config):
        type: Literal["angle"]
