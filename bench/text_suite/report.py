"""The text suite's report: per set and mean, each tk label beside TF-IDF + LogisticRegression.

    table = write(results, out, name, labels, command)   # → <out>/<name>.json and <out>/<name>.md

Per set and system: mean over the seeds all systems ran of the primary metric (ROC AUC for binary sets,
accuracy for multiclass ones) and of the log loss, median and max train seconds (tk: the whole
`tk train` process; TF-IDF: the C search and the refit, in process). Per tk label: the gap to
TF-IDF (tk − TF-IDF, primary metric) per set, its worst set, the mean gap, and how many sets are
within TIE of TF-IDF or above it.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.suite.scoring import PRIMARY
from bench.text_suite.datasets import TEXT_SETS

TIE = 0.005
REFERENCE = "tfidf_lr"


def summarize(results: list[dict]) -> dict:
    """{set: {system: {primary, log_loss, train_s_median, train_s_max, n, errors}}}.

    Per set, only the seeds every system has a run of (done or failed) count, so that the means
    of a set compare the same splits."""
    import numpy as np

    out: dict = {}
    for r in results:
        out.setdefault(r["set"], {}).setdefault(r["system"], []).append(r)
    for name, systems in out.items():
        metric = PRIMARY[TEXT_SETS[name].task]
        common = set.intersection(*({r["seed"] for r in runs} for runs in systems.values()))
        for system, runs in systems.items():
            runs = [r for r in runs if r["seed"] in common]
            ok = [r for r in runs if "metrics" in r]
            cell = {"n": len(ok), "errors": [f"seed {r['seed']}: {r['error']}" for r in runs if "error" in r]}
            if ok:
                cell.update(
                    primary=float(np.mean([r["metrics"][metric] for r in ok])),
                    log_loss=float(np.mean([r["metrics"]["log_loss"] for r in ok])),
                    train_s_median=float(np.median([r["train_s"] for r in ok])),
                    train_s_max=float(np.max([r["train_s"] for r in ok])),
                )
            systems[system] = cell
    return out


def write(results: list[dict], out: Path, name: str, labels: list[str], command: str, note: str = "") -> dict:
    import numpy as np

    summary = summarize(results)
    sets = [s for s in TEXT_SETS if s in summary]
    systems = labels + [REFERENCE]
    standing = {}
    for label in labels:
        gaps = {
            s: summary[s][label]["primary"] - summary[s][REFERENCE]["primary"]
            for s in sets
            if "primary" in summary[s].get(label, {}) and "primary" in summary[s].get(REFERENCE, {})
        }
        worst = min(gaps, key=gaps.get) if gaps else None
        standing[label] = {
            "mean_gap": float(np.mean(list(gaps.values()))) if gaps else None,
            "worst_set": worst,
            "worst_gap": gaps.get(worst),
            "within_tie": sum(g >= -TIE for g in gaps.values()),
            "sets": len(gaps),
            "gaps": gaps,
        }
    lines = (
        [f"# Text suite: {name}", "", f"`{command}`", ""]
        + ([note, ""] if note else [])
        + [
            "Primary metric: ROC AUC (binary) or accuracy (multiclass), mean of the seeds; "
            "log loss in brackets; train s: median / max. TF-IDF + LR: 1-2-grams, C tuned on the "
            "validation rows, refitted on train + validation.",
            "",
            "| set | rows | kind | splits | " + " | ".join(systems) + " |",
            "|---|---:|---|---:|" + "---:|" * len(systems),
        ]
    )
    for s in sets:
        cells = []
        for system in systems:
            c = summary[s].get(system, {})
            if "primary" in c:
                cells.append(
                    f"{c['primary']:.4f} ({c['log_loss']:.3f}) {c['train_s_median']:.1f}/"
                    f"{c['train_s_max']:.1f} s" + (f" [{len(c['errors'])} err]" if c["errors"] else "")
                )
            else:
                cells.append("error" if c.get("errors") else "–")
        rows = next((r.get("rows") for r in results if r["set"] == s and r.get("rows")), "")
        splits = max(c.get("n", 0) + len(c.get("errors", [])) for c in summary[s].values())
        lines.append(f"| {s} | {rows} | {TEXT_SETS[s].kind} | {splits} | " + " | ".join(cells) + " |")
    means = []
    for system in systems:
        vals = [summary[s][system]["primary"] for s in sets if "primary" in summary[s].get(system, {})]
        lls = [summary[s][system]["log_loss"] for s in sets if "primary" in summary[s].get(system, {})]
        means.append(f"{np.mean(vals):.4f} ({np.mean(lls):.3f}) n={len(vals)}" if vals else "–")
    lines.append("| **mean** | | | | " + " | ".join(means) + " |")
    lines += [
        "",
        "| tk label | mean gap to TF-IDF | worst set (gap) | sets within 0.005 or above |",
        "|---|---:|---|---:|",
    ]
    for label, st in standing.items():
        if st["mean_gap"] is None:
            continue
        lines.append(
            f"| {label} | {st['mean_gap']:+.4f} | {st['worst_set']} ({st['worst_gap']:+.4f}) | "
            f"{st['within_tie']}/{st['sets']} |"
        )
    shown = [label for label, st in standing.items() if st["mean_gap"] is not None]
    if shown:  # per set: each label's gap to TF-IDF + LR (* = within 0.005 of it or above)
        lines += ["", "| set | " + " | ".join(f"{label} − TF-IDF" for label in shown) + " |"]
        lines.append("|---|" + "---:|" * len(shown))
        for s in sets:
            gaps = [standing[label]["gaps"].get(s) for label in shown]
            lines.append(
                f"| {s} | "
                + " | ".join("–" if g is None else f"{g:+.4f}" + (" *" if g >= -TIE else "") for g in gaps)
                + " |"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(
        json.dumps(
            {"command": command, "note": note, "summary": summary, "standing": standing, "runs": results}, indent=1
        )
    )
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return standing
