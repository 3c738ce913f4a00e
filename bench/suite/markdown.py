"""The suite report's markdown: per set the test metric, log loss or RMSE and times of every system, the
standings across sets, the first-split table where systems ran on different splits, and the errors.

    markdown(summary, table, systems, command, seeds, first, goals, notes) → the text of <name>.md
"""

from __future__ import annotations

from bench.suite.datasets import DATASETS
from bench.suite.scoring import PRIMARY, SECONDARY
from bench.suite.standings import TIE


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
