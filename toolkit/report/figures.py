"""A headless figure and an atomic PNG write.

Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas
directly: no pyplot figure manager, no GUI backend, no DISPLAY needed, and no
change to the backend of a process (a notebook) that imports tk.

Every label is plain text: class values and column names come from the data, and matplotlib reads
text between dollar signs as TeX (`"$\\foo$"` raised at savefig, 300 nested braces a RecursionError,
`"$5-$10"` was drawn as a formula). `save_png` turns TeX parsing off on every Text of the figure and
draws with `text.parse_math` False (tick labels are made while drawing); any failure to draw is one
TkError naming the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from toolkit.errors import TkError

DPI = 110
#: Colours for models in compare plots and classes in per-class plots (matplotlib's tab10).
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


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
    import matplotlib
    from matplotlib.text import Text

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        for text in fig.findobj(Text):
            text.set_parse_math(False)
        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    except (ValueError, TypeError, RuntimeError, RecursionError, OverflowError, MemoryError) as e:
        why = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise TkError(f"{path.name}: matplotlib could not draw it ({type(e).__name__}: {why})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_part(name: str) -> str:
    """A feature or model name made safe for a file name (`price ($)` → `price___`)."""
    return re.sub(r"[^\w.-]", "_", name) or "_"


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]
