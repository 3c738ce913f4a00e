"""A headless figure and an atomic PNG write.

Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas
directly: no pyplot figure manager, no GUI backend, no DISPLAY needed, and no
change to the backend of a process (a notebook) that imports tk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DPI = 110
#: Colours for models in compare plots and classes in per-class plots (matplotlib's tab10).
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def new_figure(width: float = 6.4, height: float = 4.8, ncols: int = 1, nrows: int = 1):
    """(figure, axes): one Axes, or a list of `ncols` side by side (or `nrows` stacked)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols)
    return fig, (list(axes) if ncols > 1 or nrows > 1 else axes)


def save_png(fig, path: Path) -> Path:
    """Write the figure as PNG through a temp file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_part(name: str) -> str:
    """A feature or model name made safe for a file name (`price ($)` → `price___`)."""
    return re.sub(r"[^\w.-]", "_", name) or "_"


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]
