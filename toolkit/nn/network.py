"""The torch model: one encoder per input → combiner → one decoder per output.

Inputs are the preprocessing graph's outputs (one tensor per input feature, in
config order); outputs are the decoders' raw outputs (logits or z-scored
values) per output feature, in config order. Positional in and out so that
`torch.onnx.export` sees plain tensors; `*pre` is one argument to
torch.export, so a dynamic batch axis is
`dynamic_shapes=(tuple({0: batch} for _ in xs),)`.

The combiner gets each encoder's width (`output_width()`), not their sum:
the transformer gives every input feature its own token.

An ensemble combiner (`ensemble: k` > 1, TabM-mini) returns [N, k, d]: each
decoder then has k heads. In training mode the model returns every member's
output ([N, k] / [N, k, C]; the loss is the mean of the members' losses, see
trainer.total_loss); in eval mode, and so in the ONNX file, their mean
([N] / [N, C]), so everything after the model is the same as for k = 1.
"""

from __future__ import annotations

import torch
from torch import nn

from toolkit.nn.combiners import combiner_class


class TkModel(nn.Module):
    """forward(*pre: [N, …] per input feature) → tuple of [N] / [N, C] per output feature
    (in training mode with `ensemble` k > 1: [N, k] / [N, k, C])."""

    def __init__(self, inputs, outputs, combiner_config):
        super().__init__()
        self.input_names = [f.config.name for f in inputs]
        self.output_names = [f.config.name for f in outputs]
        self.encoders = nn.ModuleList(f.encoder() for f in inputs)
        widths = [f.output_width() for f in inputs]
        self.combiner = combiner_class(combiner_config)(widths, combiner_config)
        self.ensemble = getattr(self.combiner, "k", 1)  # members per row
        k = {} if self.ensemble == 1 else {"k": self.ensemble}  # decoder(d_in) as before for one member
        self.decoders = nn.ModuleList(f.decoder(self.combiner.d_out, **k) for f in outputs)

    def forward(self, *pre: torch.Tensor) -> tuple[torch.Tensor, ...]:
        encoded = [enc(x) for enc, x in zip(self.encoders, pre)]
        h = self.combiner(encoded)
        out = tuple(dec(h) for dec in self.decoders)
        if self.ensemble > 1 and not self.training:
            out = tuple(o.mean(dim=1) for o in out)  # the members' mean, in the graph
        return out
