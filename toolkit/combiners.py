"""Combiners: from the encoders' outputs to one vector per row."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class ConcatCombiner(nn.Module):
    """Concatenate encoder outputs, then `num_layers` × (Linear → norm → act → dropout).

    Shape: list of [N, d_i] → [N, hidden_size] (or [N, Σ d_i] with 0 layers).
    """

    def __init__(self, d_in: int, config):
        super().__init__()
        layers: list[nn.Module] = []
        width = d_in
        for _ in range(config.num_layers):
            layers.append(nn.Linear(width, config.hidden_size))
            if config.norm == "batch":
                layers.append(nn.BatchNorm1d(config.hidden_size))
            elif config.norm == "layer":
                layers.append(nn.LayerNorm(config.hidden_size))
            layers += [ACTIVATIONS[config.activation](), nn.Dropout(config.dropout)]
            width = config.hidden_size
        self.mlp = nn.Sequential(*layers)
        self.d_out = width

    def forward(self, encoded: list[torch.Tensor]) -> torch.Tensor:
        return self.mlp(torch.cat(encoded, dim=1))


COMBINERS = {"concat": ConcatCombiner}
