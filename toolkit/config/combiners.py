"""The combiners' config blocks (pydantic), beside their torch modules in toolkit/nn/combiners.py.

Kept apart from the torch modules so that reading a config never imports torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from toolkit.features.base import StrictModel


class ConcatCombinerConfig(StrictModel):
    """Concatenate the encoder outputs, then an MLP."""

    type: Literal["concat"] = "concat"
    num_layers: int = Field(2, ge=0)
    hidden_size: int = Field(64, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    norm: Literal["batch", "layer", "none"] = "none"
    activation: Literal["relu", "gelu", "silu"] = "relu"
    ensemble: int = Field(
        1,
        ge=1,
        description=(
            "k members sharing the MLP (TabM-mini): each has its own ±1 adapter on the input and its own "
            "output heads; trained on the mean of their losses, their outputs averaged in the graph. "
            "1 = a plain MLP."
        ),
    )


class TransformerCombinerConfig(StrictModel):
    """FT-Transformer: one token per input feature plus a CLS token, pre-norm blocks."""

    type: Literal["transformer"] = "transformer"
    num_layers: int = Field(2, ge=1, description="Transformer blocks.")
    d_token: int = Field(32, gt=0, description="Token width; a multiple of num_heads.")
    num_heads: int = Field(4, gt=0)
    ffn_multiplier: float = Field(4 / 3, gt=0, description="FFN hidden width = d_token × this.")
    activation: Literal["reglu", "geglu", "gelu", "relu"] = "reglu"
    attention_dropout: float = Field(0.1, ge=0, lt=1)
    ffn_dropout: float = Field(0.05, ge=0, lt=1)
    residual_dropout: float = Field(0.0, ge=0, lt=1)
    output_activation: Literal["relu", "gelu", "silu"] = "relu"

    @model_validator(mode="after")
    def _heads_divide_width(self):
        if self.d_token % self.num_heads:
            raise ValueError(
                f"combiner.d_token: {self.d_token} is not divisible by "
                f"combiner.num_heads ({self.num_heads}); use a multiple of it, "
                f"e.g. {self.num_heads * max(1, round(self.d_token / self.num_heads))}"
            )
        return self


#: `combiner: {type: …}` → its config block; a plugin adds one (toolkit.config.plugins.Registry.combiner)
#: whose class names its torch module as `module = "package.module:Class"`.
COMBINER_CONFIGS: dict[str, type] = {"concat": ConcatCombinerConfig, "transformer": TransformerCombinerConfig}
