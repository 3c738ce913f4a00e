"""Model kinds (nn, gbm, ensemble, auto): how each fits, its core, its ONNX core, how it loads.

    kind = kind_of(cfg.model_type)          # a toolkit.models.base.ModelKind
    inputs, outputs = kind.make_features(cfg)

The registry is toolkit.config.kinds.MODEL_KINDS (the config validates names against it).
"""

from __future__ import annotations

import importlib

from toolkit.config.kinds import MODEL_KINDS
from toolkit.errors import TkError

_made: dict[str, object] = {}


def kind_of(model_type: str):
    """The ModelKind registered as `model_type` (one instance per name)."""
    path = MODEL_KINDS.get(model_type)
    if path is None:
        raise TkError(f"model_type: {model_type!r} is not a registered model kind; known: {', '.join(MODEL_KINDS)}")
    if _made.get(model_type, (None,))[0] != path:
        module, _, name = path.partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as e:
            raise TkError(f"model_type {model_type!r}: cannot import {path!r}: {e}") from None
        _made[model_type] = (path, cls())
    return _made[model_type][1]


def make_features(cfg):
    """Unfitted (inputs, outputs) for a config, as its model kind reads them."""
    return kind_of(cfg.model_type).make_features(cfg)
