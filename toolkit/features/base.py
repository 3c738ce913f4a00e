"""What every feature type has in common: config base classes and the protocol.

A feature module (number.py, category.py, …) holds everything about one type:
its pydantic config, `fit` on the training column, JSON `state`, the ONNX nodes
that turn the raw column into model-ready tensors (`to_onnx`), and the torch
encoder or decoder. Nothing here imports torch; feature modules import it
inside the methods that need it, so reading a config stays fast.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _LazyNumpy:
    """numpy, imported on first use: `tk config render` reads feature configs
    from these modules and must not pay ~0.2 s for numpy it never touches."""

    def __getattr__(self, name: str):
        import numpy

        return getattr(numpy, name)


np = _LazyNumpy()

#: ONNX element types of raw inputs: what one column arrives as.
RAW_FLOAT = "float32"
RAW_STRING = "string"


class StrictModel(BaseModel):
    """A config block that refuses unknown keys (typos are errors, not ignored)."""

    model_config = ConfigDict(extra="forbid")


class FeatureConfig(StrictModel):
    """Keys shared by every input and output feature."""

    name: str = Field(min_length=1, description="Feature name; also the column unless `column` is set.")
    column: str | None = Field(None, description="Column in the data; defaults to `name`.")

    @property
    def source(self) -> str:
        """The column this feature reads."""
        return self.column or self.name


class OutputFeatureConfig(FeatureConfig):
    """Keys shared by every output feature."""

    loss_weight: float = Field(1.0, gt=0, description="Weight of this output's loss in the total.")


class InputFeature(Protocol):
    """Protocol of an input feature type (see number.py for a complete one)."""

    type: ClassVar[str]
    raw_dtype: ClassVar[str]  # RAW_FLOAT or RAW_STRING

    def fit(self, column: np.ndarray) -> "InputFeature": ...
    def state(self) -> dict[str, Any]: ...
    def to_onnx(self, g, raw: str) -> str: ...
    def output_width(self) -> int: ...
    def encoder(self): ...


class OutputFeature(Protocol):
    """Protocol of an output feature type: targets, decoder, loss, metrics."""

    type: ClassVar[str]

    def fit(self, column: np.ndarray) -> "OutputFeature": ...
    def state(self) -> dict[str, Any]: ...
    def encode_target(self, column: np.ndarray) -> np.ndarray: ...
    def decoder(self, d_in: int): ...
    def loss(self): ...
    def predict(self, logits: np.ndarray) -> dict[str, np.ndarray]: ...
    def metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, float]: ...
    def to_onnx_post(self, g, raw: str) -> dict[str, tuple[str, list]]: ...
    def score(self, y: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, float]: ...

