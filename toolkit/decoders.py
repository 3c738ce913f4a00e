"""Torch decoders: one per output feature, from the combiner's vector to logits."""

from __future__ import annotations

import torch
from torch import nn


class RegressionDecoder(nn.Module):
    """float [N, d_in] → float [N]: one logit (binary) or value (number)."""

    def __init__(self, d_in: int):
        super().__init__()
        self.linear = nn.Linear(d_in, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h).squeeze(-1)


class ClassifierDecoder(nn.Module):
    """float [N, d_in] → float [N, C] logits."""

    def __init__(self, d_in: int, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(d_in, n_classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h)
