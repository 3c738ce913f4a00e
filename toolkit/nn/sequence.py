"""Torch encoders for text (token ids) and sets (multi-hot vectors).

Text encoders take int64 ids [N, L] from toolkit.features.text, where 0 is
padding (after the tokens of a row; with bigrams also between bigram ids,
which only the order-blind EmbedPool reads) and 1 an unknown token, and return
one float vector per row [N, d]. A row without tokens gives finite values
(zeros after pooling), never NaN.

- EmbedPool: embeddings pooled over the tokens (idf-weighted mean by default).
  A bag of words, order-blind: the fast default, and the only encoder that
  reads bigram ids.
- ParallelCNN: 1-D convolutions of several widths, max over positions (Kim, 2014).
- TextTransformer: learned positions, pre-norm self-attention blocks, pooled.
- TextGRU: a bidirectional GRU, its outputs pooled.

Everything is written with plain ops (no fused attention, no packed
sequences) so that it trains deterministically on CPU and exports to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn

PAD_ID = 0
_NEG = -1e4  # a finite "minus infinity" for masks: all-padding rows stay finite


#: Floats of activation per evaluation chunk of the sequence encoders (~16 MB).
EVAL_FLOATS = 1 << 22


def _exporting() -> bool:
    return torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()


def _chunked(module: nn.Module, ids: torch.Tensor, floats_per_row: int) -> torch.Tensor | None:
    """In evaluation (not training, not exporting), run `module._encode` over row chunks so that
    a big evaluation batch never holds [N, L, d] (or [N, H, L, L]) activations at once; None otherwise."""
    rows = max(1, EVAL_FLOATS // max(1, floats_per_row))
    if module.training or _exporting() or len(ids) <= rows:
        return None
    return torch.cat([module._encode(part) for part in ids.split(rows)])


def _embedding(n_ids: int, dim: int) -> nn.Embedding:
    emb = nn.Embedding(n_ids, dim, padding_idx=PAD_ID)
    nn.init.normal_(emb.weight, std=dim**-0.5)
    with torch.no_grad():
        emb.weight[PAD_ID].zero_()
    return emb


class Pool(nn.Module):
    """Token vectors → one vector per row, over the non-padding tokens.

    `idf_mean` weighs token t by idf[t] (fixed, from the training column, as in
    TF-IDF), `mean` weighs every token alike, `max` takes the maximum per unit.

    Shape: h [N, L, d] float, ids [N, L] int64 → [N, d].
    """

    def __init__(self, how: str, idf: list[float] | None = None):
        super().__init__()
        if how not in ("idf_mean", "mean", "max"):
            raise ValueError(f"{how=} must be idf_mean, mean or max")
        self.how = how
        if how == "idf_mean":
            if idf is None:
                raise ValueError("idf_mean pooling needs idf weights")
            self.register_buffer("idf", torch.tensor(idf, dtype=torch.float32), persistent=False)

    def forward(self, h: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != PAD_ID  # [N, L]
        if self.how == "max":
            filled = h.masked_fill(~mask.unsqueeze(-1), _NEG).amax(dim=1)  # [N, d]
            return filled * mask.any(dim=1, keepdim=True).to(h.dtype)
        w = self.idf[ids] if self.how == "idf_mean" else mask.to(h.dtype)  # [N, L]; padding weighs 0
        w = w * mask.to(h.dtype)
        if _exporting():  # onnxruntime runs MatMul ~10x faster than this Einsum (152 -> ~15 µs, 1 row of 512 ids)
            total = torch.matmul(w.unsqueeze(1), h).squeeze(1)
        else:
            total = torch.einsum("nld,nl->nd", h, w)
        return total / w.sum(dim=1, keepdim=True).clamp(min=1e-6)


class EmbedPool(nn.Module):
    """Pooled token embeddings (a neural bag of words / bigrams).

    In torch this is `embedding_bag`, which never holds the [N, L, dim] token
    vectors (a 16k-row evaluation batch of 512 ids would need 2 GB); under
    ONNX export it is the same sum written as Gather + MatMul, which
    onnxruntime runs without the per-row Loop that `embedding_bag` exports to.

    `lr_scale` s makes the embeddings learn s times faster than the other
    weights under AdamW: the table holds E / s and the forward pass uses
    s · (E / s) (initialised so that E starts as with s = 1). AdamW's step
    moves each stored weight by about the learning rate whatever the gradient's
    size, so E moves s times as far; decoupled weight decay shrinks it at the
    same relative rate. A bag of rare words otherwise gets too few steps on
    small data (bench.text_suite). s = 1 is the plain embedding.

    Shape: ids [N, L] int64 → [N, dim].
    """

    def __init__(
        self,
        n_ids: int,
        dim: int,
        pooling: str = "idf_mean",
        idf: list[float] | None = None,
        dropout: float = 0.0,
        lr_scale: float = 1.0,
    ):
        super().__init__()
        if n_ids < 2 or dim < 1 or not lr_scale > 0:
            raise ValueError(f"{n_ids=} must be >= 2, {dim=} >= 1 and {lr_scale=} > 0")
        self.embedding = _embedding(n_ids, dim)
        self.lr_scale = float(lr_scale)
        if self.lr_scale != 1.0:
            with torch.no_grad():
                self.embedding.weight.div_(self.lr_scale)
        self.pool = Pool(pooling, idf)
        self.dropout = nn.Dropout(dropout)

    def _scaled(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.lr_scale == 1.0 else x * self.lr_scale

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if _exporting():
            return self.dropout(self._scaled(self.pool(self.embedding(ids), ids)))
        weight = self._scaled(self.embedding.weight)
        if self.pool.how == "max":  # padding is left out; a row of padding only gives zeros
            pooled = nn.functional.embedding_bag(ids, weight, mode="max", padding_idx=PAD_ID)
        else:
            mask = (ids != PAD_ID).to(weight.dtype)
            w = self.pool.idf[ids] * mask if self.pool.how == "idf_mean" else mask  # [N, L]
            total = nn.functional.embedding_bag(ids, weight, mode="sum", per_sample_weights=w, padding_idx=PAD_ID)
            pooled = total / w.sum(dim=1, keepdim=True).clamp(min=1e-6)
        return self.dropout(pooled)


class ParallelCNN(nn.Module):
    """Convolutions of widths `kernel_sizes` side by side, ReLU, max over positions.

    Each convolution is "full" (padding k - 1), so a row shorter than k still
    has outputs; positions whose window holds no token are left out of the max.

    Shape: ids [N, L] int64 → [N, filters · len(kernel_sizes)].
    """

    def __init__(self, n_ids: int, dim: int, filters: int, kernel_sizes: list[int], dropout: float = 0.0):
        super().__init__()
        self.embedding = _embedding(n_ids, dim)
        self.kernel_sizes = list(kernel_sizes)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k, padding=k - 1) for k in self.kernel_sizes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        per_row = ids.shape[1] * (self.embedding.embedding_dim + sum(c.out_channels for c in self.convs))
        out = _chunked(self, ids, per_row)
        return self._encode(ids) if out is None else out

    def _encode(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).transpose(1, 2)  # [N, dim, L]
        lengths = (ids != PAD_ID).sum(dim=1, keepdim=True)  # [N, 1]
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            y = torch.relu(conv(x))  # [N, filters, L + k - 1]
            positions = torch.arange(y.shape[-1], device=ids.device).unsqueeze(0)  # [1, L + k - 1]
            valid = (positions < lengths + (k - 1)) & (lengths > 0)  # window holds a token
            pooled.append((y * valid.unsqueeze(1).to(y.dtype)).amax(dim=-1))  # ReLU ≥ 0: masked → 0
        return self.dropout(torch.cat(pooled, dim=1))


class SelfAttentionBlock(nn.Module):
    """Pre-norm block: x + attention(norm(x)) with padded keys masked, then x + ffn(norm(x)).

    Shape: x [N, L, d], key_bias [N, 1, 1, L] (0 or −1e4) → [N, L, d].
    """

    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))
        self.dropout = nn.Dropout(dropout)
        self.scale = (dim // num_heads) ** -0.5

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = (
            t.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)  # [N, H, L, d / H]
            for t in self.qkv(self.norm1(x)).chunk(3, dim=-1)
        )
        attention = torch.softmax(q @ k.transpose(-2, -1) * self.scale + key_bias, dim=-1)  # [N, H, L, L]
        mixed = (self.dropout(attention) @ v).transpose(1, 2).flatten(2)  # [N, L, d]
        x = x + self.dropout(self.out(mixed))
        return x + self.dropout(self.ffn(self.norm2(x)))


class TextTransformer(nn.Module):
    """Token + learned position embeddings → `num_layers` self-attention blocks → norm → pool.

    Shape: ids [N, L] int64 (L ≤ max_length) → [N, dim].
    """

    def __init__(
        self,
        n_ids: int,
        dim: int,
        max_length: int,
        num_layers: int = 1,
        num_heads: int = 4,
        pooling: str = "mean",
        idf: list[float] | None = None,
        dropout: float = 0.1,
    ):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"{dim=} must be a multiple of {num_heads=}")
        self.embedding = _embedding(n_ids, dim)
        self.position = nn.Parameter(torch.randn(max_length, dim) * 0.02)
        self.blocks = nn.ModuleList(SelfAttentionBlock(dim, num_heads, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.pool = Pool(pooling, idf)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length, dim = ids.shape[1], self.embedding.embedding_dim
        out = _chunked(self, ids, length * max(4 * dim, self.blocks[0].num_heads * length) if self.blocks else length)
        return self._encode(ids) if out is None else out

    def _encode(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(ids) + self.position[: ids.shape[1]])  # [N, L, d]
        key_bias = ((ids == PAD_ID).to(x.dtype) * _NEG)[:, None, None, :]  # [N, 1, 1, L]
        for block in self.blocks:
            x = block(x, key_bias)
        return self.pool(self.norm(x), ids)


class TextGRU(nn.Module):
    """A bidirectional GRU over the token embeddings, its outputs pooled over the tokens.

    Padding comes after the tokens, so the forward direction never sees it
    before a token; the backward direction starts on padding (zero vectors).

    Shape: ids [N, L] int64 → [N, 2 · hidden_size].
    """

    def __init__(
        self,
        n_ids: int,
        dim: int,
        hidden_size: int,
        num_layers: int = 1,
        pooling: str = "mean",
        idf: list[float] | None = None,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.embedding = _embedding(n_ids, dim)
        self.gru = nn.GRU(
            dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.pool = Pool(pooling, idf)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        per_row = ids.shape[1] * (self.embedding.embedding_dim + 8 * self.gru.hidden_size)
        out = _chunked(self, ids, per_row)
        return self._encode(ids) if out is None else out

    def _encode(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.embedding(ids))  # [N, L, 2 · hidden]
        return self.dropout(self.pool(out, ids))


class SetEmbedding(nn.Module):
    """Multi-hot members → the sum of their embeddings (a Linear without activation).

    Shape: [N, V] float (0/1) → [N, dim].
    """

    def __init__(self, n_members: int, dim: int, dropout: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(max(n_members, 1), dim)
        self.n_members = n_members
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.n_members == 0:  # an empty vocabulary: only the bias
            x = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
        return self.dropout(self.linear(x))
