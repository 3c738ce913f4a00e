"""Torch decoders: one per output feature, from the combiner's vector to logits."""

from __future__ import annotations

import torch
from torch import nn


class BatchedLinear(nn.Module):
    """k independent Linear layers, member i on slice i: weight [k, d_in, d_out], bias [k, d_out].

    Initialised as k nn.Linear would be: uniform(±1/√d_in).
    Shape: [N, k, d_in] → [N, k, d_out].
    """

    def __init__(self, k: int, d_in: int, d_out: int):
        super().__init__()
        bound = d_in**-0.5
        self.weight = nn.Parameter(torch.empty(k, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(k, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nki,kio->nko", x, self.weight) + self.bias


def linear(d_in: int, d_out: int, k: int = 1) -> nn.Module:
    """nn.Linear for one member; a BatchedLinear (one head per member) for k > 1."""
    return nn.Linear(d_in, d_out) if k == 1 else BatchedLinear(k, d_in, d_out)


class RegressionDecoder(nn.Module):
    """float [N, d_in] → float [N]: one logit (binary) or value (number).

    With k members (an ensemble combiner): [N, k, d_in] → [N, k], one head each.
    """

    def __init__(self, d_in: int, k: int = 1):
        super().__init__()
        self.linear = linear(d_in, 1, k)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h).squeeze(-1)


class ClassifierDecoder(nn.Module):
    """float [N, d_in] → float [N, C] logits; with k members [N, k, d_in] → [N, k, C]."""

    def __init__(self, d_in: int, n_classes: int, k: int = 1):
        super().__init__()
        self.linear = linear(d_in, n_classes, k)

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
