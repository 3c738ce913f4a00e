"""tk-cyclic: an example tk plugin.

- feature type `cyclic`: a number that wraps around (hour of day, weekday, month) → sin and cos of
  its angle in the ONNX graph, so 23:00 sits next to 00:00;
- metric `brier` for binary outputs: mean squared error of the predicted probability (lower is better).

tk calls `register(registry)` when it loads plugins (entry point group `tk.plugins`, or a
`plugins: [tk_cyclic]` line in the YAML). Nothing is registered on import.
This module imports no numpy and no torch, so `tk config render` stays fast.
"""

from __future__ import annotations


def register(registry) -> None:
    """Add this package's parts to tk's registries (a toolkit.plugins.Registry)."""
    from tk_cyclic.feature import CyclicInput
    from tk_cyclic.metric import brier

    registry.input_feature(CyclicInput)
    registry.metric("brier", brier, outputs=["binary"], higher_is_better=False)
