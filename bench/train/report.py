"""bench.train's report: the console table and train.md.

Every function reads the results dict that bench.train also writes to train.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.train.datasets import REFERENCES, SYSTEM_LABELS, TARGETS

# --------------------------------------------------------------------------- report


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def print_table(results: dict[str, Any]) -> None:
    header = ["dataset", "system", "test ROC AUC", "wall s", "peak RSS MB", "runs"]
    rows = []
    for ds, res in results["datasets"].items():
        for sysname, s in res["systems"].items():
            ok = sum("error" not in r for r in s["runs"])
            rows.append(
                [
                    ds,
                    SYSTEM_LABELS.get(sysname, sysname),
                    _fmt(s["median"]["roc_auc"], ".4f"),
                    _fmt(s["median"]["wall_s"], ".2f"),
                    _fmt(s["median"]["rss_mb"], ".0f"),
                    f"{ok}/{len(s['runs'])}",
                ]
            )
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="bench.train — medians")
        for h in header:
            table.add_column(h, justify="left" if h in ("dataset", "system") else "right")
        for r in rows:
            table.add_row(*r)
        console = Console()
        if not console.is_terminal:  # piped: rich would assume 80 columns and squeeze the table
            console = Console(width=120)
        console.print(table)
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def write_markdown(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    v = m["versions"]
    lines = [
        "# Training benchmark",
        "",
        f"`{results['command']}` — {m['date']}, git {m['git_commit']}"
        + (" (toolkit/ had uncommitted changes)" if m.get("toolkit_dirty") else ""),
        "",
        f"Machine: {m['cpu_count']} CPU ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"torch {v['torch']}, scikit-learn {v['scikit-learn']}, onnxruntime {v['onnxruntime']}. "
        f"Load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}"
        + (
            f"; all CPUs {m['cpu_busy_pct']:.0f} % busy during the benchmark, of which about "
            f"{m['other_cpu_s']:.0f} CPU-s not ours (the benchmark's own runs: {m['benchmark_cpu_s']:.0f} CPU-s)"
            if "cpu_busy_pct" in m
            else ""
        )
        + ". Threads: "
        + (
            f"OMP/MKL/OPENBLAS_NUM_THREADS={results['threads']}"
            if results.get("threads")
            else "library defaults (one per core)"
        )
        + ".",
        "",
        f"Medians of {results['repeats']} run(s) per system, interleaved. Each run is a fresh process: wall time "
        "and peak RSS (`ru_maxrss` of that process, MB = MiB) include interpreter start-up and imports. "
        "tk is the real CLI (`tk train CONFIG --dataset DATA --output TMP -q`); it trains on `train` and "
        "early-stops on `validation`. The scikit-learn baselines fit on `train` + `validation`. "
        "All are scored on the `test` rows.",
    ]
    for ds, res in results["datasets"].items():
        lines += [
            "",
            f"## {ds}",
            "",
            f"Config `{res['config']}`, data `{res['data']}`, target `{res['target']}` (positive `{res['positive']}`).",
            "",
            "| system | test ROC AUC | wall s | peak RSS MB |",
            "|---|---:|---:|---:|",
        ]
        for sysname, s in res["systems"].items():
            med = s["median"]
            lines.append(
                f"| {SYSTEM_LABELS.get(sysname, sysname)} | {_fmt(med['roc_auc'], '.4f')} | "
                f"{_fmt(med['wall_s'], '.2f')} | {_fmt(med['rss_mb'], '.0f')} |"
            )
        for ref in REFERENCES.get(ds, []):
            lines.append(f"| {ref['system']} | {ref['roc_auc']:.3f} | {ref['wall_s']:.1f} | {ref['rss_mb']:.0f} |")
        target = TARGETS.get(ds)
        if target:
            lines.append(
                f"| **target for tk** | ≥ {target['roc_auc']:.3f} | ≤ {target['wall_s']:.0f} | "
                f"≤ {target['rss_mb']:.0f} |"
            )
            tk = res["systems"].get("tk", {}).get("median")
            if tk and tk["roc_auc"] is not None:
                checks = [
                    ("ROC AUC", tk["roc_auc"] >= target["roc_auc"]),
                    ("wall", tk["wall_s"] <= target["wall_s"]),
                    ("RSS", tk["rss_mb"] <= target["rss_mb"]),
                ]
                lines += [
                    "",
                    "tk against its targets: "
                    + ", ".join(f"{n} {'met' if ok else 'NOT met'}" for n, ok in checks)
                    + ".",
                ]
        lines += ["", "Runs (in order):", ""]
        for sysname, s in res["systems"].items():
            cells = []
            for r in s["runs"]:
                if "error" in r:
                    cells.append(f"error (rc {r['returncode']})")
                else:
                    cells.append(f"{r['roc_auc']:.4f} / {r['wall_s']:.2f} s / {r['rss_mb']:.0f} MB")
            lines.append(f"- {SYSTEM_LABELS.get(sysname, sysname)}: " + "; ".join(cells))
    path.write_text("\n".join(lines) + "\n")
