"""The suite's report: JSON, a markdown table, win/tie/loss, mean rank and a PNG.

    write(results, out_dir, name="suite", command="python -m bench.suite ...")
    → <out>/<name>.json, <out>/<name>.md, <out>/<name>.png

Per set and system: mean ± sd over the seeds of the primary metric (ROC AUC, accuracy, R²)
and the secondary one (log loss, RMSE), median train and predict wall time. Across sets:
mean rank on the primary metric (1 = best; ties share the average rank), win/tie/loss of
every system against every other (tie: means within TIE = 0.005), the number of sets where
a system is within TIE of the best other system or above it, and the mean log loss over the
classification sets, the median 1-minute load average at the runs' start (the machine is shared).
A run that failed counts in `errors`; its seed is left out of the means.

Where a system ran on fewer splits than the others (AutoGluon: the first), a second table compares
every system on that first split alone, with its own mean rank. Where the report holds the anchors
(systems.ANCHORS), `targets` says where each tk variant stands against issue 25's targets: within
LGBM_TIE of LightGBM-on-all-rows on at least LGBM_SETS sets and the best mean rank; AutoGluon's
quality (within TIE of it, first split) at AG_TIME_FRACTION of its train time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.suite.datasets import DATASETS
from bench.suite.scoring import PRIMARY, SECONDARY
from bench.suite.systems import SYSTEMS

TIE = 0.005
LGBM_TIE, LGBM_SETS = 0.002, 12  # issue 25: within 0.002 of LightGBM-on-all-rows on ≥ 12 of 13 sets
AG_TIME_FRACTION = 0.2  # issue 25's long-run aim: AutoGluon's quality at a fifth of its time


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


def _cell(c: dict, key: str) -> str:
    if key not in c:
        return "error" if c.get("errors") else "–"
    return f"{c[key]:.4f} ± {c[f'{key}_sd']:.4f}"


def _mean_row(label: str, values: list[str]) -> str:
    return f"| **{label}** | | | " + " | ".join(values) + " |"


def _fmt(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(
    summary: dict,
    table: dict,
    systems: list[str],
    command: str,
    seeds: list[int],
    first: dict | None = None,
    goals: dict | None = None,
    notes: str = "",
) -> str:
    """The report as markdown (first: first_split's result; goals: targets' result; notes: a paragraph)."""
    names = [n for n in DATASETS if n in summary]
    head = "| set | task | metric | " + " | ".join(systems) + " |"
    rule = "|---|---|---|" + "---:|" * len(systems)
    lines = [f"# Defaults suite ({len(names)} sets × seeds {','.join(map(str, seeds))})", "", f"`{command}`", ""] + (
        [notes, ""] if notes else []
    )
    if goals:
        lines += ["## Against issue 25's targets", "", *goals["lines"], ""]
    splits = {s: max((summary[n].get(s, {}).get("n", 0) for n in names), default=0) for s in systems}
    if len(set(splits.values())) > 1:
        lines += [
            "Splits per system: "
            + ", ".join(f"{s} {k}" for s, k in splits.items())
            + ". A system on fewer splits is shown and ranked below with its splits' mean; the "
            "first-split table at the end compares every system on the same rows.",
            "",
        ]
    lines += ["Test metric, mean ± sd over the splits (best mean in bold):", "", head, rule]
    for n in names:
        task = DATASETS[n].task
        cells = [summary[n].get(s, {}) for s in systems]
        best = max((c.get("primary", -1e9) for c in cells), default=None)
        shown = [(f"**{_cell(c, 'primary')}**" if c.get("primary") == best else _cell(c, "primary")) for c in cells]
        lines.append(f"| {n} | {task} | {PRIMARY[task]} | " + " | ".join(shown) + " |")
    lines.append(_mean_row("mean over sets", [_fmt(table[s]["mean_primary"]) for s in systems]))
    lines += ["", "Log loss (classification) and RMSE (regression), mean ± sd:", "", head, rule]
    for n in names:
        task = DATASETS[n].task
        lines.append(
            f"| {n} | {task} | {SECONDARY[task]} | "
            + " | ".join(_cell(summary[n].get(s, {}), "secondary") for s in systems)
            + " |"
        )
    lines.append(_mean_row("mean log loss, classification sets", [_fmt(table[s]["mean_log_loss"]) for s in systems]))
    lines += [
        "",
        "Median train / predict wall seconds:",
        "",
        "| set | " + " | ".join(systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for n in names:
        cells = [summary[n].get(s, {}) for s in systems]
        lines.append(
            f"| {n} | "
            + " | ".join(f"{c['train_s']:.2f} / {c['predict_s']:.2f}" if "train_s" in c else "–" for c in cells)
            + " |"
        )
    lines.append("| **mean train s** | " + " | ".join(_fmt(table[s]["mean_train_s"], 2) for s in systems) + " |")
    lines.append("| **median load at start** | " + " | ".join(_fmt(table[s]["median_load"], 2) for s in systems) + " |")
    lines += [
        "",
        f"Across sets (tie: means within {TIE}):",
        "",
        "| system | mean rank | win/tie/loss vs " + ", ".join(systems) + " | within 0.005 of best other "
        "| mean log loss (classification sets) | median train s | slowest set's median train s | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for s in systems:
        t = table[s]
        wtl = ", ".join(f"{o}: {'/'.join(map(str, v))}" for o, v in t["wtl"].items())
        lines.append(
            f"| {s} | {t['mean_rank']:.2f} | {wtl} | {t['within_tie_of_best_other']}/{len(names)} "
            f"| {_fmt(t['mean_log_loss'])} | {_fmt(t['median_train_s'], 2)} "
            f"| {_fmt(t['max_set_median_train_s'], 2)} | {t['errors']} |"
        )
    if first:
        fs, ft, fsystems = first["summary"], first["standings"], first["systems"]
        lines += [
            "",
            f"On the first split alone (seed {first['seed']}), every system (test metric / log loss or "
            "RMSE / train s):",
            "",
            "| set | metric | " + " | ".join(fsystems) + " |",
            "|---|---|" + "---:|" * len(fsystems),
        ]
        for n in names:
            cells = [fs.get(n, {}).get(s, {}) for s in fsystems]
            best = max((c.get("primary", -1e9) for c in cells), default=None)
            shown = []
            for c in cells:
                if "primary" not in c:
                    shown.append("error" if c.get("errors") else "–")
                    continue
                m = f"**{c['primary']:.4f}**" if c["primary"] == best else f"{c['primary']:.4f}"
                shown.append(f"{m} / {c['secondary']:.4g} / {c['train_s']:.1f}")
            lines.append(f"| {n} | {PRIMARY[DATASETS[n].task]} | " + " | ".join(shown) + " |")
        lines.append(
            "| **mean** | | "
            + " | ".join(
                f"{_fmt(ft[s]['mean_primary'])} / {_fmt(ft[s]['mean_log_loss'])} (log loss) / "
                f"{_fmt(ft[s]['mean_train_s'], 1)}"
                for s in fsystems
            )
            + " |"
        )
        lines.append("| **mean rank** | | " + " | ".join(f"{ft[s]['mean_rank']:.2f}" for s in fsystems) + " |")
    errors = [f"- {n} / {s}: {e}" for n in names for s in systems for e in summary[n].get(s, {}).get("errors", [])]
    if errors:
        lines += ["", "Errors:", "", *errors]
    return "\n".join(lines) + "\n"


def first_split(results: list[dict], systems: list[str], seeds: list[int]) -> dict | None:
    """Every system on seeds[0] alone, when some system ran on fewer seeds than the others; else None."""
    counts = {s: len({r["seed"] for r in results if r["system"] == s}) for s in systems}
    if len(set(counts.values())) <= 1:
        return None
    runs = [r for r in results if r["seed"] == seeds[0]]
    summary = summarize(runs)
    present = [s for s in systems if any(r["system"] == s for r in runs)]
    return {"seed": seeds[0], "systems": present, "summary": summary, "standings": standings(summary, present)}


def _vs_lightgbm(summary: dict, names: list[str], tk: str) -> tuple[dict, str]:
    """tk's means against LightGBM-on-all-rows' per set: within LGBM_TIE (or above) on ≥ LGBM_SETS of 13."""
    import numpy as np

    d = {
        n: summary[n][tk]["primary"] - summary[n]["lightgbm"]["primary"]
        for n in names
        if "primary" in summary[n].get(tk, {}) and "primary" in summary[n].get("lightgbm", {})
    }
    short = sorted((v, n) for n, v in d.items() if v < -LGBM_TIE)
    allowed = len(DATASETS) - LGBM_SETS
    g = {
        "within": len(d) - len(short),
        "sets": len(d),
        "met": len(d) > 0 and len(short) <= allowed,
        "short": {n: round(v, 4) for v, n in short},
        "mean_diff": float(np.mean(list(d.values()))) if d else None,
    }
    text = (
        f"within {LGBM_TIE} of LightGBM-on-all-rows (or above) on {g['within']}/{len(d)} sets "
        f"(target ≥ {LGBM_SETS} of {len(DATASETS)}, at most {allowed} short: {'met' if g['met'] else 'not met'}"
        + (f"; mean difference {g['mean_diff']:+.4f}" if d else "")
        + ("; short on " + ", ".join(f"{n} {v:+.4f}" for v, n in short) if short else "")
        + ")"
    )
    return g, text


def _vs_autogluon(first: dict, names: list[str], tk: str) -> tuple[dict, str]:
    """tk against AutoGluon on the first split: within TIE (or above) on every set, at ≤ AG_TIME_FRACTION its time."""
    import numpy as np

    fs = first["summary"]
    both = [
        n for n in names if "primary" in fs.get(n, {}).get(tk, {}) and "primary" in fs.get(n, {}).get("autogluon", {})
    ]
    d = {n: fs[n][tk]["primary"] - fs[n]["autogluon"]["primary"] for n in both}
    t_tk = sum(fs[n][tk]["train_s"] for n in both)
    t_ag = sum(fs[n]["autogluon"]["train_s"] for n in both)
    within = sum(v >= -TIE for v in d.values())
    ratio = t_tk / t_ag if t_ag else None
    g = {
        "within": within,
        "sets": len(both),
        "mean_diff": float(np.mean(list(d.values()))) if d else None,
        "train_s_tk": t_tk,
        "train_s_autogluon": t_ag,
        "time_ratio": ratio,
        "met": bool(d) and within == len(both) and ratio is not None and ratio <= AG_TIME_FRACTION,
    }
    if not d:
        return g, "no set with both tk and AutoGluon on the first split"
    seed = f"seed{'s' if ',' in str(first['seed']) else ''} {first['seed']}"
    text = (
        f"against AutoGluon ({seed}): within {TIE} of it (or above) on {within}/{len(both)} sets, "
        f"mean difference {g['mean_diff']:+.4f}, train time {t_tk:.0f} s vs {t_ag:.0f} s = {ratio:.2f}× "
        f"AutoGluon's (aim: its quality on every set at ≤ {AG_TIME_FRACTION}× its time: "
        f"{'met' if g['met'] else 'not met'})"
    )
    return g, text


def targets(summary: dict, table: dict, systems: list[str], first: dict | None, seeds: list[int]) -> dict | None:
    """Where each tk variant (a system not in SYSTEMS) stands against issue 25's targets; None without anchors.

    AutoGluon is compared on the first split where it ran on fewer splits than tk (first), else on them all.
    """
    tks = [s for s in systems if s not in SYSTEMS]
    if not tks or not any(a in systems for a in ("lightgbm", "autogluon")):
        return None
    names = [n for n in DATASETS if n in summary]
    out: dict[str, Any] = {"per_tk": {}, "lines": []}
    best_rank = min(table[s]["mean_rank"] for s in systems)
    for tk in tks:
        best = table[tk]["mean_rank"] == best_rank
        g: dict[str, Any] = {"mean_rank": table[tk]["mean_rank"], "best_mean_rank": best}
        parts = [
            f"mean rank {table[tk]['mean_rank']:.2f} of {len(systems)} systems "
            f"({'the best' if best else f'the best is {best_rank:.2f}'})"
        ]
        if first and tk in first["systems"]:
            ranks = first["standings"]
            g["first_split_mean_rank"] = ranks[tk]["mean_rank"]
            parts[0] += (
                f", on the first split alone {ranks[tk]['mean_rank']:.2f} of {len(first['systems'])} "
                f"(the best is {min(r['mean_rank'] for r in ranks.values()):.2f})"
            )
        if "lightgbm" in systems:
            g["lightgbm"], text = _vs_lightgbm(summary, names, tk)
            parts.append(text)
        same = first or {"seed": ",".join(map(str, seeds)), "systems": systems, "summary": summary}
        if "autogluon" in same["systems"] and tk in same["systems"]:
            g["autogluon"], text = _vs_autogluon(same, names, tk)
            parts.append(text)
        out["per_tk"][tk] = g
        out["lines"].append(f"- **{tk}**: " + "; ".join(parts) + ".")
    return out


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


def write(
    results: list[dict],
    out: Path,
    name: str,
    systems: list[str],
    command: str,
    seeds: list[int],
    notes: str = "",
    extra: dict | None = None,
) -> dict:
    """Write <out>/<name>.json, .md and .png; returns the standings (extra: more keys for the JSON)."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    table = standings(summary, systems)
    first = first_split(results, systems, seeds)
    goals = targets(summary, table, systems, first, seeds)
    (out / f"{name}.json").write_text(
        json.dumps(
            {
                "command": command,
                "seeds": seeds,
                "systems": systems,
                "tie": TIE,
                **(extra or {}),
                "standings": table,
                "targets": goals and goals["per_tk"],
                "first_split": first and {k: first[k] for k in ("seed", "standings")},
                "summary": summary,
                "runs": results,
            },
            indent=1,
        )
    )
    (out / f"{name}.md").write_text(markdown(summary, table, systems, command, seeds, first, goals, notes))
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
    lines = [
        "# tk candidate defaults against the baselines",
        "",
        f"`{command}`",
        "",
        "Each variant ranked with " + ", ".join(baselines) + f" only (tie: means within {TIE}).",
        "",
        "| tk variant | mean rank | "
        + " | ".join(f"W/T/L vs {b}" for b in baselines)
        + " | within 0.005 of best baseline | mean log loss | median train s | slowest set s | errors |",
        "|---|---:|" + "---|" * len(baselines) + "---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ll = f"{r['mean_log_loss']:.4f}" if r["mean_log_loss"] is not None else "–"
        med = f"{r['median_train_s']:.1f}" if r["median_train_s"] is not None else "–"
        mx = f"{r['max_set_median_train_s']:.1f}" if r["max_set_median_train_s"] is not None else "–"
        lines.append(
            f"| {r['label']} | {r['mean_rank']:.2f} | "
            + " | ".join("/".join(map(str, r["wtl"][b])) for b in baselines)
            + f" | {r['within_tie_of_best_other']} | {ll} | {med} | {mx} | {r['errors']} |"
        )
    return "\n".join(lines) + "\n"
