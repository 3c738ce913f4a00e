"""Combiners: from the encoders' outputs to one vector per row.

Every combiner is built as `Combiner(widths, config)`, where `widths[i]` is the
output width of input feature i's encoder, takes the list of encoder outputs
([N, widths[i]] each, in config order) and has `d_out`, the width of the
vector it returns.

- `concat`: concatenate, then an MLP.
- `transformer`: FT-Transformer (Gorishniy et al., 2021, "Revisiting Deep
  Learning Models for Tabular Data"): one token per input feature plus a CLS
  token, pre-norm transformer blocks, the CLS token out. Written with plain
  Linear / matmul / softmax (no fused kernels), so it trains deterministically
  on CPU and exports to any ONNX opset the exporter asks for.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class ConcatCombiner(nn.Module):
    """Concatenate encoder outputs, then `num_layers` × (Linear → norm → act → dropout).

    With `ensemble: k` > 1 (TabM-mini, Gorishniy et al., 2025, "TabM: Advancing
    Tabular Deep Learning with Parameter-Efficient Ensembling") the row is
    copied to k members, member i's copy is multiplied by its own adapter
    `r[i]` (fixed-at-init random ±1 signs, then trained), and all members go
    through the one shared MLP; the decoders then give each member its own head.

    Shape: list of [N, d_i] → [N, hidden_size] (or [N, Σ d_i] with 0 layers);
    with k > 1: → [N, k, hidden_size].
    """

    def __init__(self, widths: list[int], config):
        super().__init__()
        layers: list[nn.Module] = []
        width = sum(widths)
        self.k = config.ensemble
        if self.k > 1:
            signs = torch.randint(0, 2, (self.k, width)).float() * 2 - 1
            self.adapter = nn.Parameter(signs)  # [k, Σ d_i]
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
        x = torch.cat(encoded, dim=1)  # [N, d]
        if self.k == 1:
            return self.mlp(x)
        x = x.unsqueeze(1) * self.adapter  # [N, k, d]
        h = self.mlp(x.flatten(0, 1))  # [N·k, d] through the one MLP (BatchNorm sees rows × members)
        return h.unflatten(0, (-1, self.k))  # [N, k, hidden_size]


# ---- FT-Transformer --------------------------------------------------------


class FeatureTokenizer(nn.Module):
    """One d_token embedding per feature: its own Linear over the encoder's output.

    For a piecewise-encoded number this is the piecewise-linear embedding
    (PLE → Linear); for a plain number x·w + b; for a category embedding a
    Linear from the embedding size to d_token.

    Shape: list of [N, widths[i]] → [N, len(widths), d_token].
    """

    def __init__(self, widths: list[int], d_token: int):
        super().__init__()
        self.projections = nn.ModuleList(nn.Linear(w, d_token) for w in widths)

    def forward(self, encoded: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([proj(x) for proj, x in zip(self.projections, encoded)], dim=1)


class CLSToken(nn.Module):
    """Prepend one learned token. Shape: [N, S, d] → [N, 1 + S, d]."""

    def __init__(self, d_token: int):
        super().__init__()
        bound = d_token**-0.5
        self.weight = nn.Parameter(torch.empty(d_token).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = self.weight.expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], dim=1)


class MultiheadAttention(nn.Module):
    """Scaled dot-product attention over `num_heads` heads.

    Shape: x_q [N, S_q, d], x_kv [N, S, d] → [N, S_q, d].
    """

    def __init__(self, d_token: int, num_heads: int, dropout: float):
        super().__init__()
        if d_token % num_heads:
            raise ValueError(f"{d_token=} must be divisible by {num_heads=}")
        self.num_heads = num_heads
        self.q, self.k, self.v, self.out = (nn.Linear(d_token, d_token) for _ in range(4))
        self.dropout = nn.Dropout(dropout)
        self.scale = (d_token // num_heads) ** -0.5

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)  # [N, H, S, d / H]

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor) -> torch.Tensor:
        q, k, v = self._heads(self.q(x_q)), self._heads(self.k(x_kv)), self._heads(self.v(x_kv))
        attention = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)  # [N, H, S_q, S]
        mixed = self.dropout(attention) @ v  # [N, H, S_q, d / H]
        return self.out(mixed.transpose(1, 2).flatten(2))


class ReGLU(nn.Module):
    """a · relu(b) for [a, b] = the two halves of the last axis. Shape: [..., 2h] → [..., h]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=-1)
        return a * torch.relu(b)


class GEGLU(nn.Module):
    """a · gelu(b). Shape: [..., 2h] → [..., h]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=-1)
        return a * nn.functional.gelu(b)


GLU_ACTIVATIONS = {"reglu": ReGLU, "geglu": GEGLU}


class FeedForward(nn.Module):
    """Linear → activation → dropout → Linear. Shape: [..., d] → [..., d]."""

    def __init__(self, d_token: int, d_hidden: int, activation: str, dropout: float):
        super().__init__()
        glu = activation in GLU_ACTIVATIONS
        self.linear1 = nn.Linear(d_token, 2 * d_hidden if glu else d_hidden)
        self.activation = GLU_ACTIVATIONS[activation]() if glu else ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_hidden, d_token)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attention(norm(x)), then x + ffn(norm(x)).

    As in rtdl, the first block skips the attention norm (its input is the
    tokenizer's output), and the last block computes the CLS token only: its
    query is token 0 and the other tokens serve as keys and values.

    Shape: [N, S, d] → [N, S, d], or [N, 1, d] when `cls_only`.
    """

    def __init__(self, config, first: bool):
        super().__init__()
        d = config.d_token
        self.attention_norm = nn.Identity() if first else nn.LayerNorm(d)
        self.attention = MultiheadAttention(d, config.num_heads, config.attention_dropout)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = FeedForward(d, max(1, round(d * config.ffn_multiplier)), config.activation, config.ffn_dropout)
        self.residual_dropout = nn.Dropout(config.residual_dropout)

    def forward(self, x: torch.Tensor, cls_only: bool = False) -> torch.Tensor:
        h = self.attention_norm(x)
        if cls_only:
            x, q = x[:, :1], h[:, :1]
        else:
            q = h
        x = x + self.residual_dropout(self.attention(q, h))
        return x + self.residual_dropout(self.ffn(self.ffn_norm(x)))


class TransformerCombiner(nn.Module):
    """FT-Transformer: tokens per feature + CLS → `num_layers` blocks → CLS → norm → act.

    Shape: list of [N, widths[i]] → [N, d_token].
    """

    def __init__(self, widths: list[int], config):
        super().__init__()
        self.tokenizer = FeatureTokenizer(widths, config.d_token)
        self.cls = CLSToken(config.d_token)
        self.blocks = nn.ModuleList(TransformerBlock(config, first=i == 0) for i in range(config.num_layers))
        self.norm = nn.LayerNorm(config.d_token)
        self.activation = ACTIVATIONS[config.output_activation]()
        self.d_out = config.d_token

    def forward(self, encoded: list[torch.Tensor]) -> torch.Tensor:
        x = self.cls(self.tokenizer(encoded))  # [N, 1 + F, d]
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = block(x, cls_only=i == last)
        return self.activation(self.norm(x[:, 0]))  # [N, d]


COMBINERS = {"concat": ConcatCombiner, "transformer": TransformerCombiner}


def combiner_class(config) -> type:
    """The torch class of a combiner config block: a built-in one, or the class a plugin's config names
    as `module = "package.module:Class"` (toolkit.config.plugins), imported now."""
    cls = COMBINERS.get(config.type)
    if cls is not None:
        return cls
    import importlib

    from toolkit.errors import TkError

    path = getattr(config, "module", "")
    module, _, name = path.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise TkError(f"combiner {config.type!r}: cannot import its module {path!r}: {e}") from None
