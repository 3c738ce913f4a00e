"""Plots along a date input: does the model hold over time? One PNG per (date input, output).

The date column is parsed by the same ONNX parser the model holds (toolkit.features.date_parse.parse),
so a row the model reads as missing is left out here too. The rows are cut into BINS periods of
equal row counts along the date; per period the plot shows what happened and what the model said:

    number output:    mean actual and mean predicted value, and the mean absolute error (right axis)
    binary output:    the rate of the positive class and the mean predicted probability of it
    category output:  accuracy, and the share of the most frequent class against its mean probability
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.report.figures import color, new_figure, save_png

BINS = 20
MIN_ROWS = 40  # fewer dated rows than this: no plot
OUTPUT_TYPES = ("number", "binary", "category")  # set outputs (many labels per row) get no such plot


def dated_days(feature, df) -> np.ndarray:
    """Days since 1970 (float [N], NaN where the model reads no date) of `feature`'s column in `df`."""
    from toolkit.data import coerce
    from toolkit.features.date_parse import parse

    strings = coerce.to_strings(df[feature.config.source].to_numpy(dtype=object))
    return parse(strings, feature.config.preprocessing.format)["elapsed_days"].astype(np.float64)


def periods(days: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """(period index int [N] (-1 where undated), the middle day of each period [P]): equal-count periods."""
    dated = np.isfinite(days)
    cut = np.unique(np.quantile(days[dated], np.linspace(0, 1, bins + 1)))
    index = np.full(len(days), -1)
    index[dated] = np.clip(np.searchsorted(cut, days[dated], side="right") - 1, 0, max(len(cut) - 2, 0))
    middles = np.array(
        [np.median(days[index == k]) if (index == k).any() else np.nan for k in range(max(len(cut) - 1, 1))]
    )
    return index, middles


def over_time(o, days: np.ndarray, date_name: str, path: Path) -> Path | None:
    """One output `o` (report.data.OutputRows over the rows `o.rows` of the data) along `days` [N]."""
    rows_days = days[o.rows]
    if np.isfinite(rows_days).sum() < MIN_ROWS:
        return None
    index, middles = periods(rows_days)
    keep = [k for k in range(len(middles)) if (index == k).any()]
    x = np.array(middles[keep], dtype="datetime64[D]")
    fig, ax = new_figure(7.5, 4.4)
    if o.type == "number":
        actual = [o.y[index == k].mean() for k in keep]
        predicted = [o.value[index == k].mean() for k in keep]
        error = np.abs(o.y - o.value)
        mae = [error[index == k].mean() for k in keep]
        ax.plot(x, actual, marker="o", color=color(0), label=f"actual {o.name} (mean)")
        ax.plot(x, predicted, marker="s", color=color(1), label="predicted (mean)")
        twin = ax.twinx()
        gap = float(np.diff(middles[keep]).min()) if len(keep) > 1 else 2.0  # days between periods
        twin.bar(x, mae, width=max(1.0, 0.6 * gap), alpha=0.25, color=color(3), label="mean absolute error")
        twin.set_ylabel("mean absolute error")
        ax.set_ylabel(o.name)
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
    else:
        if o.type == "binary":
            k_class, what = 1, f"{o.name} = {o.classes[1]}"
        else:
            k_class = int(np.bincount(o.y, minlength=len(o.classes)).argmax())
            what = f"{o.name} = {o.classes[k_class]} (most frequent)"
            accuracy = [(o.pred[index == k] == o.y[index == k]).mean() for k in keep]
            ax.plot(x, accuracy, marker="^", color=color(2), label="accuracy")
        rate = [(o.y[index == k] == k_class).mean() for k in keep]
        mean_p = [o.proba[index == k, k_class].mean() for k in keep]
        ax.plot(x, rate, marker="o", color=color(0), label=f"actual share of {what}")
        ax.plot(x, mean_p, marker="s", color=color(1), label="mean predicted probability")
        ax.set_ylabel("share / probability")
    per = int(np.median(np.bincount(index[index >= 0])))
    ax.set(xlabel=f"{date_name} (periods of ~{per} rows each)", title=f"{o.name} along {date_name}")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    span = max(1, int((x[-1] - x[0]).astype(int)))
    pad = np.timedelta64(max(1, span // 50), "D") if span < 3_000_000 else np.timedelta64(1, "D")
    # explicit limits inside matplotlib's years 1..9999: autoscaled margins around sentinel dates
    # (0001-01-01, 9999-12-31) would pass them
    ax.set_xlim(max(x[0] - pad, np.datetime64("0001-01-02")), min(x[-1] + pad, np.datetime64("9999-12-30")))
    fig.autofmt_xdate()
    return save_png(fig, path)
