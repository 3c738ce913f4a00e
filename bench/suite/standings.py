"""The suite's figures from its runs: per set and system the means over the seeds, across sets the standings.

    summary = summarize(results); table = standings(summary, systems); first = first_split(results, systems, seeds)

Per set and system: mean ± sd over the seeds of the primary metric (ROC AUC, accuracy, R²)
and the secondary one (log loss, RMSE), median train and predict wall time. Across sets:
mean rank on the primary metric (1 = best; ties share the average rank), win/tie/loss of
every system against every other (tie: means within TIE = 0.005), the number of sets where
a system is within TIE of the best other system or above it, and the mean log loss over the
classification sets, the median 1-minute load average at the runs' start (the machine is shared).
A run that failed counts in `errors`; its seed is left out of the means.

Where a system ran on fewer splits than the others (AutoGluon: the first), first_split compares
every system on that first split alone, with its own standings.
"""

from __future__ import annotations

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
        for _system, cell in systems.items():
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
            loads = [r["load"][0] for r in runs if "load" in r]
            cell["load"] = float(np.median(loads)) if loads else None
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
        log_losses = [
            summary[n][s]["secondary"]
            for n in summary
            if DATASETS[n].task != "regression" and "secondary" in summary[n].get(s, {})
        ]
        train = [summary[n][s]["train_s"] for n in summary if "train_s" in summary[n].get(s, {})]
        loads = [summary[n][s]["load"] for n in summary if summary[n].get(s, {}).get("load") is not None]
        out[s] = {
            "mean_rank": float(ranks[s].mean()),
            "wtl": wtl,
            "within_tie_of_best_other": int((means[s] >= best_other - TIE).sum()),
            "mean_primary": float(means[s].mean()) if means[s].notna().all() else None,
            "mean_log_loss": float(np.mean(log_losses)) if log_losses else None,
            "mean_train_s": float(np.mean(train)) if train else None,
            "median_load": float(np.median(loads)) if loads else None,
            "median_train_s": float(np.median(train)) if train else None,
            "max_set_median_train_s": float(np.max(train)) if train else None,
            "errors": sum(len(summary[n].get(s, {}).get("errors", [])) for n in summary),
        }
    return out


def first_split(results: list[dict], systems: list[str], seeds: list[int]) -> dict | None:
    """Every system on seeds[0] alone, when some system ran on fewer seeds than the others; else None."""
    counts = {s: len({r["seed"] for r in results if r["system"] == s}) for s in systems}
    if len(set(counts.values())) <= 1:
        return None
    runs = [r for r in results if r["seed"] == seeds[0]]
    summary = summarize(runs)
    present = [s for s in systems if any(r["system"] == s for r in runs)]
    return {"seed": seeds[0], "systems": present, "summary": summary, "standings": standings(summary, present)}
