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


class IndexCrossEntropy(nn.Module):
    """(logits [N, C], class index as float [N]) → mean cross-entropy, optionally class-weighted.

    A module (not a closure) so that `.to(device)` moves its class weights with the model.
    """

    def __init__(self, weights: list[float] | None = None):
        super().__init__()
        self.register_buffer("weight", torch.tensor(weights, dtype=torch.float32) if weights else None)

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, y.long(), weight=self.weight)
