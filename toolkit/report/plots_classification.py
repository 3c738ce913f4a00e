"""Plots of a classification output (binary or category), one PNG per function.

Each takes a data.OutputRows (`y` class index [N], `proba` [N, C], `classes`)
and draws with scikit-learn's Display classes on a headless figure. A
category output with many classes shows its MAX_CLASSES most frequent ones in
the per-class curves (the title says so); the confusion matrix shows all.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from toolkit.report.figures import color, new_figure, save_png

MAX_CLASSES = 10
CALIBRATION_BINS = 10


def _curve_classes(o) -> tuple[list[int], str]:
    """Class indices to draw one-vs-rest curves for, and a title note when some are left out.

    binary: the positive class only. Classes without both positives and negatives are skipped.
    """
    if o.type == "binary":
        candidates = [1]
    else:
        counts = np.bincount(o.y, minlength=len(o.classes))
        candidates = [int(c) for c in np.argsort(-counts, kind="stable")]
    usable = [c for c in candidates if 0 < (o.y == c).sum() < len(o.y)]
    note = ""
    if len(usable) > MAX_CLASSES:
        note = f" ({MAX_CLASSES} most frequent of {len(usable)} classes)"
        usable = usable[:MAX_CLASSES]
    return sorted(usable), note


def _say_undefined(ax, classes: list[int]) -> None:
    """Write on an empty per-class plot why it is empty."""
    if not classes:
        ax.text(
            0.5,
            0.5,
            "not defined here: no class has both\npositive and negative rows in the data",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )


def _which(o) -> str:
    return f"positive class {o.classes[1]!r}" if o.type == "binary" else "each class vs the rest"


def confusion(o, path: Path) -> Path:
    """Confusion matrix normalised over each true class (rows sum to 1), labelled with class names."""
    from sklearn.metrics import ConfusionMatrixDisplay

    k = len(o.classes)
    size = min(4.5 + 0.45 * k, 16)
    fig, ax = new_figure(size + 1, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ConfusionMatrixDisplay.from_predictions(
            o.y,
            o.pred,
            labels=list(range(k)),
            display_labels=o.classes,
            normalize="true",
            include_values=k <= 25,
            values_format=".2f",
            cmap="Blues",
            ax=ax,
            xticks_rotation=45 if k > 3 else "horizontal",
            im_kw={"vmin": 0, "vmax": 1},
        )
    ax.set_title(f"{o.name}: confusion matrix (share of each true class, {len(o.y)} rows)")
    return save_png(fig, path)


def roc(o, path: Path) -> Path:
    """ROC curve per class (one-vs-rest; binary: the positive class), AUC in the legend."""
    from sklearn.metrics import RocCurveDisplay

    fig, ax = new_figure(6.4, 5.6)
    classes, note = _curve_classes(o)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, c in enumerate(classes):
            RocCurveDisplay.from_predictions(
                (o.y == c).astype(int),
                o.proba[:, c],
                pos_label=1,
                name=str(o.classes[c]),
                ax=ax,
                curve_kwargs={"color": color(i)},
                plot_chance_level=i == 0,
            )
    _say_undefined(ax, classes)
    ax.set(title=f"{o.name}: ROC, {_which(o)}{note}", xlabel="false positive rate", ylabel="true positive rate")
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def precision_recall(o, path: Path) -> Path:
    """Precision-recall curve per class (one-vs-rest; binary: the positive class), AP in the legend."""
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = new_figure(6.4, 5.6)
    classes, note = _curve_classes(o)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, c in enumerate(classes):
            PrecisionRecallDisplay.from_predictions(
                (o.y == c).astype(int),
                o.proba[:, c],
                pos_label=1,
                name=str(o.classes[c]),
                ax=ax,
                curve_kwargs={"color": color(i)},
            )
    _say_undefined(ax, classes)
    ax.set(title=f"{o.name}: precision-recall, {_which(o)}{note}", xlabel="recall", ylabel="precision")
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def calibration(o, path: Path) -> Path:
    """Reliability curve per class: mean predicted probability vs observed frequency, 10 bins."""
    from sklearn.calibration import CalibrationDisplay

    fig, ax = new_figure(6.4, 5.6)
    classes, note = _curve_classes(o)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, c in enumerate(classes):
            CalibrationDisplay.from_predictions(
                (o.y == c).astype(int),
                o.proba[:, c],
                n_bins=CALIBRATION_BINS,
                pos_label=1,
                name=str(o.classes[c]),
                ax=ax,
                ref_line=i == 0,
                color=color(i),
            )
    _say_undefined(ax, classes)
    ax.set(
        title=f"{o.name}: calibration, {_which(o)}{note}",
        xlabel=f"mean predicted probability ({CALIBRATION_BINS} bins)",
        ylabel="fraction of rows in the class",
    )
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def probabilities(o, path: Path) -> Path:
    """Histogram of predicted probabilities.

    binary: P(positive class) for the rows of each true class, with the threshold.
    category: the probability of the predicted class, for right and wrong predictions.
    """
    fig, ax = new_figure(6.4, 4.6)
    bins = np.linspace(0, 1, 26)
    if o.type == "binary":
        p = o.proba[:, 1]
        for i, c in enumerate((0, 1)):
            ax.hist(p[o.y == c], bins=bins, alpha=0.55, color=color(i), label=f"true {o.classes[c]}")
        ax.axvline(o.threshold, color="black", linestyle="--", label=f"threshold {o.threshold:g}")
        ax.set_xlabel(f"predicted P({o.name} = {o.classes[1]})")
    else:
        top = o.proba.max(axis=1)
        right = o.pred == o.y
        ax.hist(top[right], bins=bins, alpha=0.55, color=color(2), label=f"right ({int(right.sum())})")
        ax.hist(top[~right], bins=bins, alpha=0.55, color=color(3), label=f"wrong ({int((~right).sum())})")
        ax.set_xlabel("probability of the predicted class")
    ax.set(ylabel="rows", title=f"{o.name}: predicted probabilities")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def compare_roc(name: str, runs: list[tuple[str, object]], path: Path) -> Path:
    """ROC of one output for several models: binary the positive class, category micro-averaged
    one-vs-rest (every row × class decision pooled)."""
    from sklearn.metrics import RocCurveDisplay

    fig, ax = new_figure(6.4, 5.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (label, o) in enumerate(runs):
            if o.type == "binary":
                y, score, kind = o.y, o.proba[:, 1], ""
            else:
                y = (o.y[:, None] == np.arange(o.proba.shape[1])[None, :]).astype(int).ravel()
                score, kind = o.proba.ravel(), " micro-avg"
            RocCurveDisplay.from_predictions(
                y,
                score,
                pos_label=1,
                name=f"{label}{kind}",
                ax=ax,
                curve_kwargs={"color": color(i)},
                plot_chance_level=i == 0,
            )
    ax.set(title=f"{name}: ROC, models compared", xlabel="false positive rate", ylabel="true positive rate")
    ax.grid(alpha=0.3)
    return save_png(fig, path)
