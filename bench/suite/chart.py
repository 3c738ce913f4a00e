"""The suite report's chart (matplotlib): each system's test metric against a reference system's, per set.

plot(summary, systems, Path("bench/results/suite.png"))
"""

from __future__ import annotations

from pathlib import Path

from bench.suite.datasets import DATASETS
from bench.suite.scoring import PRIMARY
from bench.suite.standings import TIE


def plot(summary: dict, systems: list[str], path: Path, reference: str = "hgb") -> None:
    """Each system's primary metric minus the reference's, per set (error bars: the system's sd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in DATASETS if n in summary]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        xs, ys, es = [], [], []
        for j, n in enumerate(names):
            c, ref = summary[n].get(s, {}), summary[n].get(reference, {})
            if "primary" in c and "primary" in ref:
                xs.append(j + (i - (len(systems) - 1) / 2) * width)
                ys.append(c["primary"] - ref["primary"])
                es.append(c["primary_sd"])
        ax.bar(xs, ys, width, yerr=es, label=s, capsize=2)
    ax.axhline(0, color="black", lw=0.8)
    for bound in (-TIE, TIE):
        ax.axhline(bound, color="grey", lw=0.6, ls=":")
    ax.set_xticks(
        range(len(names)), [f"{n}\n{PRIMARY[DATASETS[n].task]}" for n in names], rotation=45, ha="right", fontsize=8
    )
    ax.set_ylabel(f"test metric − {reference}'s (mean over splits)")
    ax.set_title("Defaults suite: each system against HistGradientBoosting defaults (dotted: ±0.005)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
