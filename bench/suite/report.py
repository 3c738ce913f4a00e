"""The suite's report: JSON, a markdown table, win/tie/loss, mean rank and a PNG.

    write(results, out_dir, name="suite", command="python -m bench.suite ...")
    → <out>/<name>.json, <out>/<name>.md, <out>/<name>.png

Per set and system: mean ± sd over the seeds of the primary metric (ROC AUC, accuracy, R²)
and the secondary one (log loss, RMSE), median train and predict wall time. Across sets:
mean rank on the primary metric (1 = best; ties share the average rank), win/tie/loss of
every system against every other (tie: means within TIE = 0.005), the number of sets where
a system is within TIE of the best other system or above it, and the mean log loss over the
classification sets. A run that failed counts in `errors`; its seed is left out of the means.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.suite.datasets import DATASETS
from bench.suite.scoring import PRIMARY, SECONDARY

TIE = 0.005


def summarize(results: list[dict]) -> dict[str, dict[str, dict[str, Any]]]:
    """{set: {system: {primary, primary_sd, secondary, secondary_sd, train_s, predict_s, n, errors}}}."""
    import numpy as np

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        cell = out.setdefault(r["set"], {}).setdefault(r["system"], {"runs": [], "errors": []})
        (cell["errors"] if "error" in r else cell["runs"]).append(r)
    for name, systems in out.items():
        task = DATASETS[name].task
        for system, cell in systems.items():
            runs = cell.pop("runs")
            cell["errors"] = [f"seed {r['seed']}: {r['error']}" for r in cell["errors"]]
            cell["n"] = len(runs)
            if not runs:
                continue
            for key, metric in (("primary", PRIMARY[task]), ("secondary", SECONDARY[task])):
                values = np.array([r["metrics"][metric] for r in runs])
                cell[key], cell[f"{key}_sd"] = float(values.mean()), float(values.std(ddof=1) if len(values) > 1 else 0)
            cell["train_s"] = float(np.median([r["train_s"] for r in runs]))
            cell["predict_s"] = float(np.median([r.get("predict_s", np.nan) for r in runs]))
    return out


def standings(summary: dict, systems: list[str]) -> dict[str, dict[str, Any]]:
    """Per system: mean rank, win/tie/loss against each other system, sets within TIE of the best other."""
    import numpy as np
    import pandas as pd

    means = pd.DataFrame({s: {n: summary[n].get(s, {}).get("primary", np.nan) for n in summary} for s in systems})
    ranks = means.rank(axis=1, ascending=False, method="average")
    out: dict[str, dict[str, Any]] = {}
    for s in systems:
        wtl = {}
        for other in systems:
            if other == s:
                continue
            d = (means[s] - means[other]).dropna()
            wtl[other] = [int((d > TIE).sum()), int((d.abs() <= TIE).sum()), int((d < -TIE).sum())]
        best_other = means.drop(columns=[s]).max(axis=1)
        log_losses = [summary[n][s]["secondary"] for n in summary
                      if DATASETS[n].task != "regression" and "secondary" in summary[n].get(s, {})]
        train = [summary[n][s]["train_s"] for n in summary if "train_s" in summary[n].get(s, {})]
        out[s] = {"mean_rank": float(ranks[s].mean()),
                  "wtl": wtl,
                  "within_tie_of_best_other": int((means[s] >= best_other - TIE).sum()),
                  "mean_log_loss": float(np.mean(log_losses)) if log_losses else None,
                  "median_train_s": float(np.median(train)) if train else None,
                  "max_set_median_train_s": float(np.max(train)) if train else None,
                  "errors": sum(len(summary[n].get(s, {}).get("errors", [])) for n in summary)}
    return out


def _cell(c: dict, key: str) -> str:
    if key not in c:
        return "error" if c.get("errors") else "–"
    return f"{c[key]:.4f} ± {c[f'{key}_sd']:.4f}"


def markdown(summary: dict, table: dict, systems: list[str], command: str, seeds: list[int]) -> str:
    """The report as markdown."""
    names = [n for n in DATASETS if n in summary]
    head = "| set | task | metric | " + " | ".join(systems) + " |"
    rule = "|---|---|---|" + "---:|" * len(systems)
    lines = [f"# Defaults suite ({len(names)} sets × seeds {','.join(map(str, seeds))})", "",
             f"`{command}`", "", "Test metric, mean ± sd over the splits (best mean in bold):", "", head, rule]
    for n in names:
        task = DATASETS[n].task
        cells = [summary[n].get(s, {}) for s in systems]
        best = max((c.get("primary", -1e9) for c in cells), default=None)
        shown = [(f"**{_cell(c, 'primary')}**" if c.get("primary") == best else _cell(c, "primary")) for c in cells]
        lines.append(f"| {n} | {task} | {PRIMARY[task]} | " + " | ".join(shown) + " |")
    lines += ["", "Log loss (classification) and RMSE (regression), mean ± sd:", "", head, rule]
    for n in names:
        task = DATASETS[n].task
        lines.append(f"| {n} | {task} | {SECONDARY[task]} | "
                     + " | ".join(_cell(summary[n].get(s, {}), "secondary") for s in systems) + " |")
    lines += ["", "Median train / predict wall seconds:", "", "| set | " + " | ".join(systems) + " |",
              "|---|" + "---:|" * len(systems)]
    for n in names:
        cells = [summary[n].get(s, {}) for s in systems]
        lines.append(f"| {n} | " + " | ".join(
            f"{c['train_s']:.2f} / {c['predict_s']:.2f}" if "train_s" in c else "–" for c in cells) + " |")
    lines += ["", f"Across sets (tie: means within {TIE}):", "",
              "| system | mean rank | win/tie/loss vs " + ", ".join(systems) + " | within 0.005 of best other "
              "| mean log loss (classification sets) | median train s | slowest set's median train s | errors |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for s in systems:
        t = table[s]
        wtl = ", ".join(f"{o}: {'/'.join(map(str, v))}" for o, v in t["wtl"].items())
        ll = f"{t['mean_log_loss']:.4f}" if t["mean_log_loss"] is not None else "–"
        tr = f"{t['median_train_s']:.2f}" if t["median_train_s"] is not None else "–"
        mx = f"{t['max_set_median_train_s']:.2f}" if t["max_set_median_train_s"] is not None else "–"
        lines.append(f"| {s} | {t['mean_rank']:.2f} | {wtl} | {t['within_tie_of_best_other']}/{len(names)} "
                     f"| {ll} | {tr} | {mx} | {t['errors']} |")
    errors = [f"- {n} / {s}: {e}" for n in names for s in systems for e in summary[n].get(s, {}).get("errors", [])]
    if errors:
        lines += ["", "Errors:", "", *errors]
    return "\n".join(lines) + "\n"


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
    ax.set_xticks(range(len(names)), [f"{n}\n{PRIMARY[DATASETS[n].task]}" for n in names], rotation=45,
                  ha="right", fontsize=8)
    ax.set_ylabel(f"test metric − {reference}'s (mean over splits)")
    ax.set_title("Defaults suite: each system against HistGradientBoosting defaults (dotted: ±0.005)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(results: list[dict], out: Path, name: str, systems: list[str], command: str,
          seeds: list[int]) -> dict:
    """Write <out>/<name>.json, .md and .png; returns the standings."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    table = standings(summary, systems)
    (out / f"{name}.json").write_text(json.dumps(
        {"command": command, "seeds": seeds, "systems": systems, "tie": TIE, "standings": table,
         "summary": summary, "runs": results}, indent=1))
    (out / f"{name}.md").write_text(markdown(summary, table, systems, command, seeds))
    if "hgb" in systems:
        plot(summary, systems, out / f"{name}.png")
    return table


def candidates(results: list[dict], labels: list[str], baselines: list[str]) -> list[dict[str, Any]]:
    """One row per tk variant, each ranked against the baselines alone (as if it were the only tk)."""
    rows = []
    for label in labels:
        runs = [r for r in results if r["system"] in (label, *baselines)]
        table = standings(summarize(runs), [label, *baselines])[label]
        rows.append({"label": label, **table})
    return rows


def candidates_markdown(rows: list[dict], baselines: list[str], command: str) -> str:
    """The candidate table: mean rank among [variant, *baselines], W/T/L vs each baseline, log loss, time."""
    lines = ["# tk candidate defaults against the baselines", "", f"`{command}`", "",
             "Each variant ranked with " + ", ".join(baselines) + f" only (tie: means within {TIE}).", "",
             "| tk variant | mean rank | " + " | ".join(f"W/T/L vs {b}" for b in baselines)
             + " | within 0.005 of best baseline | mean log loss | median train s | slowest set s | errors |",
             "|---|---:|" + "---|" * len(baselines) + "---:|---:|---:|---:|---:|"]
    for r in rows:
        ll = f"{r['mean_log_loss']:.4f}" if r["mean_log_loss"] is not None else "–"
        med = f"{r['median_train_s']:.1f}" if r["median_train_s"] is not None else "–"
        mx = f"{r['max_set_median_train_s']:.1f}" if r["max_set_median_train_s"] is not None else "–"
        lines.append(f"| {r['label']} | {r['mean_rank']:.2f} | "
                     + " | ".join("/".join(map(str, r["wtl"][b])) for b in baselines)
                     + f" | {r['within_tie_of_best_other']} | {ll} | {med} | {mx} | {r['errors']} |")
    return "\n".join(lines) + "\n"
