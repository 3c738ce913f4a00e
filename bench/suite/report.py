"""The suite's report: JSON, a markdown table, win/tie/loss, mean rank and a PNG.

    write(results, out_dir, name="suite", command="python -m bench.suite ...")
    → <out>/<name>.json, <out>/<name>.md, <out>/<name>.png

The parts, one job each: standings.py (means per set, mean rank and win/tie/loss across sets, the
first-split comparison), targets.py (issue 25's targets), markdown.py (<name>.md), chart.py
(<name>.png); candidate_table.py writes --compare's <name>_candidates.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.suite.chart import plot
from bench.suite.markdown import markdown
from bench.suite.standings import TIE, first_split, standings, summarize
from bench.suite.targets import targets


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
