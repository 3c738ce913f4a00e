"""Torch encoders for a timeseries input: values and their mask → one vector per row.

The pre graph gives [N, 2L]: L values (padded with 0) then L mask bits (1 at a value);
toolkit.features.timeseries picks one of these by `encoder.type`:

    Summary      statistics of the present values + the padded sequence → Linear   [N, 2L] → [N, size]
    CNN          convolutions over projected values, max-pooled over the values     [N, 2L] → [N, filters · K]
    GRU          a bidirectional GRU, mean-pooled over the values                   [N, 2L] → [N, 2 · hidden]
    Transformer  self-attention blocks over projected values + positions, mean      [N, 2L] → [N, dim]

They reuse the text encoders' blocks (toolkit.nn.sequence): Pool, SelfAttentionBlock.
"""

from __future__ import annotations

import torch
from torch import nn

from toolkit.nn import sequence as te


def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, 2L] → values [N, L], mask [N, L]."""
    length = x.shape[1] // 2
    return x[:, :length], x[:, length:]


class Summary(nn.Module):
    """Statistics of the present values + the padded sequence → Linear + ReLU.

    Shape: [N, 2L] → [N, size].
    """

    def __init__(self, length: int, size: int, dropout: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(7 + 2 * length, size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, m = split(x)
        n = m.sum(dim=1, keepdim=True)  # [N, 1]
        safe_n = n.clamp(min=1.0)
        mean = (v * m).sum(dim=1, keepdim=True) / safe_n
        std = ((((v - mean) * m) ** 2).sum(dim=1, keepdim=True) / safe_n).sqrt()
        some = (n > 0).to(x.dtype)
        big = torch.full_like(v, 1e4)
        lo = torch.where(m > 0, v, big).amin(dim=1, keepdim=True) * some
        hi = torch.where(m > 0, v, -big).amax(dim=1, keepdim=True) * some
        last_at = (n - 1).clamp(min=0).long()  # [N, 1]: values come first, padding after
        last = v.gather(1, last_at) * some
        stats = torch.cat([mean, std, lo, hi, v[:, :1], last, n / m.shape[1]], dim=1)
        return self.dropout(torch.relu(self.linear(torch.cat([stats, x], dim=1))))


class Project(nn.Module):
    """values [N, L], mask [N, L] → [N, L, dim]: each value times a learned vector plus a bias, 0 at padding."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(1, dim)

    def forward(self, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return self.linear(v.unsqueeze(-1)) * m.unsqueeze(-1)


def ids(m: torch.Tensor) -> torch.Tensor:
    """The mask as text_encoders' ids: 0 (te.PAD_ID) at padding, 1 at a value."""
    return m.long()


class CNN(nn.Module):
    """text_encoders.ParallelCNN's convolutions over projected values.

    Shape: [N, 2L] → [N, filters · len(kernel_sizes)].
    """

    def __init__(self, dim: int, filters: int, kernel_sizes: list[int], dropout: float = 0.0):
        super().__init__()
        self.project = Project(dim)
        self.kernel_sizes = list(kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k, padding=k - 1) for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, m = split(x)
        h = self.project(v, m).transpose(1, 2)  # [N, dim, L]
        lengths = m.sum(dim=1, keepdim=True)  # [N, 1]
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            y = torch.relu(conv(h))  # [N, filters, L + k - 1]
            positions = torch.arange(y.shape[-1], device=x.device).unsqueeze(0).to(x.dtype)
            valid = (positions < lengths + (k - 1)) & (lengths > 0)
            pooled.append((y * valid.unsqueeze(1).to(y.dtype)).amax(dim=-1))
        return self.dropout(torch.cat(pooled, dim=1))


class GRU(nn.Module):
    """A bidirectional GRU over projected values, pooled (text_encoders.Pool, mean) over the values.

    Shape: [N, 2L] → [N, 2 · hidden_size].
    """

    def __init__(self, dim: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.project = Project(dim)
        self.gru = nn.GRU(
            dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.pool = te.Pool("mean")
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, m = split(x)
        out, _ = self.gru(self.project(v, m))
        return self.dropout(self.pool(out, ids(m)))


class Transformer(nn.Module):
    """Projected values + learned positions → text_encoders.SelfAttentionBlock × num_layers → norm → mean.

    Shape: [N, 2L] → [N, dim].
    """

    def __init__(self, dim: int, length: int, num_layers: int = 1, num_heads: int = 2, dropout: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"{dim=} must be a multiple of {num_heads=}")
        self.project = Project(dim)
        self.position = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.blocks = nn.ModuleList(te.SelfAttentionBlock(dim, num_heads, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.pool = te.Pool("mean")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, m = split(x)
        h = self.project(v, m) + self.position[: v.shape[1]]
        key_bias = ((1.0 - m) * te._NEG)[:, None, None, :]  # [N, 1, 1, L]
        for block in self.blocks:
            h = block(h, key_bias)
        return self.pool(self.norm(h), ids(m))


#: encoder.type → module class
ENCODERS = {"summary": Summary, "cnn": CNN, "gru": GRU, "transformer": Transformer}
