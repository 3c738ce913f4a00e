"""Where each tk variant of a suite report stands against issue 25's targets, when the report holds the
anchors (systems.ANCHORS): within LGBM_TIE of LightGBM-on-all-rows on at least LGBM_SETS sets and the
best mean rank; AutoGluon's quality (within TIE of it, first split) at AG_TIME_FRACTION of its train time.

    targets(summary, table, systems, first, seeds) → {"per_tk": {tk: {...}}, "lines": [markdown bullets]} or None
"""

from __future__ import annotations

from typing import Any

from bench.suite.datasets import DATASETS
from bench.suite.standings import TIE
from bench.suite.systems import SYSTEMS

LGBM_TIE, LGBM_SETS = 0.002, 12  # issue 25: within 0.002 of LightGBM-on-all-rows on ≥ 12 of 13 sets
AG_TIME_FRACTION = 0.2  # issue 25's long-run aim: AutoGluon's quality at a fifth of its time


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
