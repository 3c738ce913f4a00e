"""The candidate table (`python -m bench.suite --compare`): each tk variant ranked against the baselines
alone, as if it were the only tk, in <name>_candidates.md.

    rows = candidates(results, ["tk-a", "tk-b"], ["hgb", "linear"]); candidates_markdown(rows, baselines, command)
"""

from __future__ import annotations

from typing import Any

from bench.suite.standings import TIE, standings, summarize


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
