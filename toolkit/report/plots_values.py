"""Plots of number and set outputs, and of permutation importance; one PNG per function."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.report.figures import color, new_figure, save_png

MAX_POINTS = 5_000  # scatter plots draw a seeded sample of at most this many rows
MAX_LABELS = 30


def _sample(n: int, seed: int = 0) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def predicted_vs_actual(o, path: Path) -> Path:
    """Scatter of predicted against true values with the y = x line (number outputs)."""
    fig, ax = new_figure(6.0, 5.6)
    idx = _sample(len(o.y))
    ax.scatter(o.y[idx], o.value[idx], s=6, alpha=0.35, color=color(0), linewidths=0)
    lo = float(np.nanmin([o.y.min(), o.value.min()]))
    hi = float(np.nanmax([o.y.max(), o.value.max()]))
    ax.plot([lo, hi], [lo, hi], color="black", linestyle="--", linewidth=1, label="predicted = actual")
    shown = f"{len(idx)} of {len(o.y)} rows" if len(idx) < len(o.y) else f"{len(o.y)} rows"
    ax.set(xlabel=f"actual {o.name}", ylabel=f"predicted {o.name}", title=f"{o.name}: predicted vs actual ({shown})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def residuals(o, path: Path) -> Path:
    """Residuals (actual − predicted) against the prediction, and their histogram."""
    fig, (ax_scatter, ax_hist) = new_figure(6.4, 6.4, nrows=2)
    res = o.y - o.value
    idx = _sample(len(res))
    ax_scatter.scatter(o.value[idx], res[idx], s=6, alpha=0.35, color=color(0), linewidths=0)
    ax_scatter.axhline(0, color="black", linestyle="--", linewidth=1)
    ax_scatter.set(xlabel=f"predicted {o.name}", ylabel="actual − predicted", title=f"{o.name}: residuals")
    ax_hist.hist(res, bins=50, color=color(0), alpha=0.75)
    ax_hist.axvline(0, color="black", linestyle="--", linewidth=1)
    ax_hist.set(
        xlabel="actual − predicted", ylabel="rows", title=f"residuals: mean {res.mean():.4g}, std {res.std():.4g}"
    )
    for ax in (ax_scatter, ax_hist):
        ax.grid(alpha=0.3)
    return save_png(fig, path)


def label_f1(o, path: Path) -> Path:
    """F1 per member of a set output at its threshold (the MAX_LABELS most frequent), with support."""
    from sklearn.metrics import f1_score

    pred = (o.proba >= o.threshold).astype(int)
    f1 = f1_score(o.y, pred, average=None, zero_division=0)
    support = o.y.sum(axis=0)
    order = np.argsort(-support, kind="stable")[:MAX_LABELS]
    fig, ax = new_figure(7.0, max(3.6, 1.2 + 0.32 * len(order)))
    names = [f"{o.classes[i]} ({int(support[i])})" for i in order]
    ax.barh(range(len(order)), f1[order], color=color(0))
    ax.set_yticks(range(len(order)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    note = f", {len(order)} most frequent of {len(support)}" if len(order) < len(support) else ""
    ax.set(
        xlabel=f"F1 at threshold {o.threshold:g}", title=f"{o.name}: F1 per label (rows holding it in brackets{note})"
    )
    ax.grid(alpha=0.3, axis="x")
    return save_png(fig, path)


def importance(imp, path: Path, top: int = 25) -> Path:
    """Horizontal bars: mean drop of the score when a column is shuffled, with its 95% interval."""
    k = min(top, len(imp.columns))
    fig, ax = new_figure(7.5, max(3.6, 1.4 + 0.32 * k))
    mean = np.nan_to_num(imp.mean[:k])
    err = np.vstack([mean - np.nan_to_num(imp.low[:k]), np.nan_to_num(imp.high[:k]) - mean])
    ax.barh(range(k), mean, xerr=err, color=color(0), alpha=0.8, capsize=3)
    ax.set_yticks(range(k), imp.columns[:k], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(
        xlabel=f"drop of {imp.metric} when the column is shuffled (mean, 95% CI over {imp.drops.shape[1]} repeats)",
        title=f"{imp.output}: permutation importance (baseline {imp.metric} {imp.baseline:.4f})",
    )
    ax.grid(alpha=0.3, axis="x")
    return save_png(fig, path)


def mean_abs_attribution(att, path: Path, top: int = 25) -> Path:
    """Horizontal bars: mean |attribution| per input (model.onnx's explanations) over the rows."""
    k = min(top, len(att.names))
    fig, ax = new_figure(7.5, max(3.6, 1.4 + 0.32 * k))
    ax.barh(range(k), att.mean_abs[:k], color=color(2), alpha=0.8)
    ax.set_yticks(range(k), att.names[:k], fontsize=8)
    ax.invert_yaxis()
    ax.set(
        xlabel=f"mean |attribution| over {att.rows} rows (the score's units: log-odds, value or logit)",
        title=f"{att.output}: mean |attribution| (model.onnx's explanations)",
    )
    ax.grid(alpha=0.3, axis="x")
    return save_png(fig, path)


def gain(output: str, gains: dict[str, float], path: Path, top: int = 25) -> Path:
    """Horizontal bars: LightGBM's total split gain per input feature (model_type gbm), as a share."""
    order = sorted(gains, key=lambda k: -gains[k])[:top]
    total = sum(gains.values()) or 1.0
    share = np.array([gains[k] / total for k in order])
    fig, ax = new_figure(7.5, max(3.6, 1.4 + 0.32 * len(order)))
    ax.barh(range(len(order)), share, color=color(1), alpha=0.8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="share of the total split gain over all trees", title=f"{output}: LightGBM gain")
    ax.grid(alpha=0.3, axis="x")
    return save_png(fig, path)


def compare_residuals(name: str, runs: list[tuple[str, object]], path: Path) -> Path:
    """Histogram outlines of the residuals of one number output for several models."""
    fig, ax = new_figure(6.8, 4.6)
    everything = np.concatenate([o.y - o.value for _, o in runs])
    bins = np.linspace(*np.percentile(everything, [0.5, 99.5]), 60)
    for i, (label, o) in enumerate(runs):
        res = o.y - o.value
        ax.hist(
            res,
            bins=bins,
            histtype="step",
            linewidth=1.6,
            color=color(i),
            label=f"{label} (MAE {np.abs(res).mean():.4g})",
        )
    ax.axvline(0, color="black", linestyle="--", linewidth=1)
    ax.set(xlabel="actual − predicted", ylabel="rows", title=f"{name}: residuals, models compared")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_png(fig, path)
