"""A GbmModel where the training path expects a model: called on the pre tensors, it returns raw outputs.

    core = GbmCore(gbm_model)
    core(*pre)          # tensors [N, …] per input feature → tuple of [N] / [N, C] float32 tensors
    core.to_onnx()      # the trees' core graph (`<feature>::pre` → `<output>::raw`)

So scoring (toolkit.training.evaluation), the parity reference and `engine="torch"`
predictions treat a GBM like the neural model; only training and the export
of the core differ.
"""

from __future__ import annotations

import numpy as np


class GbmCore:
    """The boosters of a GbmModel behind the torch model's calling convention."""

    def __init__(self, gbm, input_names: list[str]):
        self.gbm, self.input_names = gbm, list(input_names)

    def eval(self) -> "GbmCore":
        return self

    def to(self, device) -> "GbmCore":
        return self

    def __call__(self, *pre):
        import torch

        cols = {name: t.cpu().numpy() if hasattr(t, "cpu") else np.asarray(t) for name, t in zip(self.input_names, pre)}
        x = self.gbm.layout_.matrix(cols)
        return tuple(torch.from_numpy(np.ascontiguousarray(r)) for r in self.gbm.predict_raw(x))

    def to_onnx(self):
        return self.gbm.to_onnx()
