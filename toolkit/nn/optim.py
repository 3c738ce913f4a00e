"""AdamW for the training loops: torch's own, minus the import of torch._dynamo.

torch.optim.Optimizer wraps `step` in `_use_grad_for_differentiable` (which
imports torch._dynamo on every call to place graph breaks) and wraps
`add_param_group`, `zero_grad`, `state_dict` and `load_state_dict` in
`torch._disable_dynamo` (which imports torch._dynamo on first call). Those
wrappers only matter under torch.compile, which tk never uses; importing
torch._dynamo costs about 2 s of a 10 s `tk train` here.

`LeanAdamW` subclasses torch.optim.AdamW and overrides exactly those five
methods with the functions the wrappers wrap (reached through `__wrapped__`,
which functools.wraps sets), so every step runs torch's own AdamW arithmetic
and state format: the weights are bit-identical to torch.optim.AdamW's
(tests/test_optim.py checks it). `step` sets grad mode as the wrapper does
(`defaults["differentiable"]`). Should a torch release change the wrappers
so that the unwrapped functions cannot be found, `adamw` falls back to plain
torch.optim.AdamW (correct, just slower to start).
"""

from __future__ import annotations

import inspect

import torch

_BYPASSED = ("step", "add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _unwrapped() -> dict | None:
    """The undecorated AdamW methods, or None when a wrapper is not the expected one."""
    raw = {}
    for name in _BYPASSED:
        wrapped = getattr(torch.optim.AdamW, name)
        fn = inspect.unwrap(wrapped)
        if fn is wrapped or not inspect.isfunction(fn) or fn.__name__ != name:
            return None
        raw[name] = fn
    return raw


_RAW = _unwrapped()


class LeanAdamW(torch.optim.AdamW):
    """torch.optim.AdamW whose methods skip the torch._dynamo wrappers (eager mode only)."""

    def step(self, closure=None):
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return _RAW["step"](self, closure)

    def add_param_group(self, param_group: dict) -> None:
        _RAW["add_param_group"](self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _RAW["zero_grad"](self, set_to_none)

    def state_dict(self) -> dict:
        return _RAW["state_dict"](self)

    def load_state_dict(self, state_dict: dict) -> None:
        _RAW["load_state_dict"](self, state_dict)


def adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """The optimizer both training loops use: AdamW, foreach kernels."""
    cls = LeanAdamW if _RAW is not None else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay, foreach=True)
