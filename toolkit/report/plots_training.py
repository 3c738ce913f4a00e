"""Learning curves from training_stats.json: loss and the validation metric per epoch.

Left panel: the training loss (Σ loss_weight × loss over the outputs, as trained)
and the validation loss (the same sum over the per-output validation losses).
Right panel: the validation metric the trainer watched, with the best epoch
(the weights that were kept) marked. Several models overlay in one figure.
"""

from __future__ import annotations

import math
from pathlib import Path

from toolkit.report.figures import color, new_figure, save_png


def curves(stats: dict, loss_weights: dict[str, float]) -> dict:
    """{"epoch": [E], "train_loss": [E], "validation_loss": [E], "metric": name, "metric_values": [E],
    "best_epoch": int, "best_value": float} from a model's training stats."""
    epochs = stats.get("epochs", [])
    output, _, metric = stats.get("validation_metric", "combined.loss").partition(".")

    def val_loss(record) -> float:
        v = record.get("validation", {})
        if "combined" in v and "loss" in v["combined"]:
            return v["combined"]["loss"]
        parts = [w * v[o]["loss"] for o, w in loss_weights.items() if "loss" in v.get(o, {})]
        return sum(parts) if parts else math.nan

    return {
        "epoch": [r["epoch"] for r in epochs],
        "train_loss": [r["train_loss"] for r in epochs],
        "validation_loss": [val_loss(r) for r in epochs],
        "metric": f"{output}.{metric}",
        "metric_values": [r.get("validation", {}).get(output, {}).get(metric, math.nan) for r in epochs],
        "best_epoch": stats.get("best_epoch"),
        "best_value": stats.get("best_value", math.nan),
    }


def learning_curves(runs: list[tuple[str, dict]], path: Path) -> Path:
    """One PNG for one or more `(label, curves(...))`; each model gets one colour."""
    fig, (ax_loss, ax_metric) = new_figure(11, 4.2, ncols=2)
    many = len(runs) > 1
    for i, (label, c) in enumerate(runs):
        prefix = f"{label}: " if many else ""
        ax_loss.plot(c["epoch"], c["train_loss"], color=color(i), label=f"{prefix}train")
        ax_loss.plot(c["epoch"], c["validation_loss"], color=color(i), linestyle="--", label=f"{prefix}validation")
        ax_metric.plot(
            c["epoch"], c["metric_values"], color=color(i), marker=".", label=f"{prefix}validation {c['metric']}"
        )
        if c["best_epoch"] is not None and c["epoch"]:
            ax_loss.axvline(c["best_epoch"], color=color(i), alpha=0.35, linestyle=":")
            ax_metric.axvline(c["best_epoch"], color=color(i), alpha=0.35, linestyle=":")
            ax_metric.plot(
                [c["best_epoch"]],
                [c["best_value"]],
                marker="*",
                markersize=14,
                color=color(i),
                linestyle="none",
                label=f"{prefix}best epoch {c['best_epoch']} ({c['best_value']:.4f})",
            )
    ax_loss.set(title="Loss per epoch", xlabel="epoch", ylabel="loss (weighted sum over outputs)")
    metrics = sorted({c["metric"] for _, c in runs})
    ax_metric.set(title="Validation metric per epoch", xlabel="epoch", ylabel=", ".join(metrics))
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_png(fig, path)
