"""Torch encoders: one per input feature, turning its preprocessed tensor into
a float vector per row that the combiner concatenates."""

from __future__ import annotations

import torch
from torch import nn


class Passthrough(nn.Module):
    """float [N, D] → the same tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class DenseEncoder(nn.Module):
    """float [N, d_in] → float [N, size] through Linear + ReLU."""

    def __init__(self, d_in: int, size: int):
        super().__init__()
        self.linear = nn.Linear(d_in, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x))


class CategoryEmbedding(nn.Module):
    """int64 ids [N] → float [N, dim]."""

    def __init__(self, n_ids: int, dim: int, dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(n_ids, dim)
        nn.init.normal_(self.embedding.weight, std=dim**-0.5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.embedding(ids))


class OneHot(nn.Module):
    """int64 ids [N] → float [N, n_ids] (exported as Gather from an identity matrix)."""

    def __init__(self, n_ids: int):
        super().__init__()
        self.register_buffer("eye", torch.eye(n_ids), persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.eye[ids]
