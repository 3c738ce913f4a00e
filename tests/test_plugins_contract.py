"""The contract a feature type meets (toolkit.testing.check_feature): the example plugin's `cyclic` type meets
it; types that break it are named with what they lack; outputs are held to parity.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.plugin_helpers import (
    CyclicInput,
    NanGraph,
    RandomEncoder,
    isolated_plugins,  # noqa: F401 (autouse: each test in plugins.isolated())
)
from toolkit.testing import ContractError, check_feature

HOURS = [0.0, 1.5, 6.0, 11.0, 12.0, 17.25, 22.0, 23.5, float("nan"), 30.0, -2.0, 7.0]


# ---- the contract ---------------------------------------------------------------------------------


def test_the_example_feature_meets_the_contract():
    check_feature(CyclicInput, HOURS)
    check_feature(CyclicInput, HOURS, config={"encoder": {"type": "passthrough"}, "preprocessing": {"period": 7}})


class NoEncoder(CyclicInput):
    encoder = CyclicInput.__mro__[1].encoder  # InputFeature's: not implemented


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
