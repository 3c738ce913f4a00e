"""The torch model: one encoder per input → combiner → one decoder per output.

Inputs are the preprocessing graph's outputs (one tensor per input feature, in
config order); outputs are the decoders' raw outputs (logits or z-scored
values) per output feature, in config order. Positional in and out so that
`torch.onnx.export` sees plain tensors; `*pre` is one argument to
torch.export, so a dynamic batch axis is
`dynamic_shapes=(tuple({0: batch} for _ in xs),)`.

The combiner gets each encoder's width (`output_width()`), not their sum:
the transformer gives every input feature its own token.
"""

from __future__ import annotations

import torch
from torch import nn

from toolkit.combiners import COMBINERS


class TkModel(nn.Module):
    """forward(*pre: [N, …] per input feature) → tuple of [N] / [N, C] per output feature."""

    def __init__(self, inputs, outputs, combiner_config):
        super().__init__()
        self.input_names = [f.config.name for f in inputs]
        self.output_names = [f.config.name for f in outputs]
        self.encoders = nn.ModuleList(f.encoder() for f in inputs)
        widths = [f.output_width() for f in inputs]
        self.combiner = COMBINERS[combiner_config.type](widths, combiner_config)
        self.decoders = nn.ModuleList(f.decoder(self.combiner.d_out) for f in outputs)

    def forward(self, *pre: torch.Tensor) -> tuple[torch.Tensor, ...]:
        encoded = [enc(x) for enc, x in zip(self.encoders, pre)]
        h = self.combiner(encoded)
        return tuple(dec(h) for dec in self.decoders)
