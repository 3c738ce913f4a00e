"""The peers benchmark's charts (matplotlib): test metric against training time, and single-row predict
latency per system, one panel per dataset.

    charts(res, Path("bench/results")) → [peers_accuracy_vs_train_time.png, peers_latency.png]
"""

from __future__ import annotations

from pathlib import Path

from bench.peers.measures import median_ms, primary_metric, system_label, tk_row


def charts(res: dict, out: Path) -> list[Path]:
    """Draw <out>/peers_accuracy_vs_train_time.png and <out>/peers_latency.png; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, ds in res["datasets"].items() if ds.get("systems")]
    if not names:
        return []
    colors = {"tk": "tab:blue", "ludwig": "tab:red", "sklearn": "tab:green"}
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    cols = min(2, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        ds = res["datasets"][name]
        for s in ds["systems"]:
            y = primary_metric(s, ds["primary"])
            if y is None:
                continue
            ax.scatter(s["train_wall_s"], y, color=colors.get(s.get("family"), "gray"), s=40)
            below = s.get("config") == "default"  # tk's two rows often sit close: one label above, one below
            ax.annotate(
                system_label(s).replace("sklearn ", "").replace(" (one-hot, TF-IDF)", "")[:26],
                (s["train_wall_s"], y),
                fontsize=7,
                xytext=(4, -10 if below else 3),
                textcoords="offset points",
            )
        metric = (
            next(iter(next(s for s in ds["systems"] if "metrics" in s)["metrics"][ds["primary"]]), "")
            if any("metrics" in s for s in ds["systems"])
            else ""
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        xs = [s["train_wall_s"] for s in ds["systems"] if primary_metric(s, ds["primary"]) is not None]
        if xs:
            ax.set_xlim(min(xs) / 1.3, max(xs) * 2.2)  # room for the labels right of the points
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("train wall time, s (log)")
        ax.set_ylabel(f"test {ds['primary']} {metric}")
        ax.grid(alpha=0.3)
    fig.suptitle("Test metric vs training time (whole process, 2 shared cores)", fontsize=10)
    fig.tight_layout()
    p1 = out / "peers_accuracy_vs_train_time.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    routes = [
        ("tk", "predictor", "tk Predictor"),
        ("tk", "onnx_session", "tk model.onnx (ORT)"),
        ("ludwig", "ludwig_predict", "Ludwig predict"),
        ("sklearn", "pipeline", "sklearn pipeline"),
        ("sklearn", "skl2onnx", "sklearn skl2onnx (ORT)"),
    ]
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        ds = res["datasets"][name]
        tk = tk_row(ds)
        labels, values, cols = [], [], []
        for fam, route, label in routes:
            rows = [tk] if fam == "tk" else [s for s in ds["systems"] if s.get("family") == fam]
            vals = [median_ms(r, route) for r in rows if r]
            vals = [v for v in vals if v is not None]
            if vals:
                labels.append(label)
                values.append(min(vals))
                cols.append(colors[fam])
        ax.barh(range(len(values)), values, color=cols)
        ax.set_yticks(range(len(values)), labels, fontsize=8)
        ax.set_xscale("log")
        if values:
            ax.set_xlim(min(values) / 2, max(values) * 4)  # room for the value printed after each bar
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("single-row predict, median ms (log)")
        ax.grid(alpha=0.3, axis="x")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.3g}", va="center", fontsize=7)
    fig.suptitle("Single-row predict latency per system (fastest model of each family)", fontsize=10)
    fig.tight_layout()
    p2 = out / "peers_latency.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]
