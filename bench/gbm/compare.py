"""Compare gbm configs: python -m bench.gbm.compare A.json B.json … --out X.md [--system tk_gbm]

Each JSON is a `python -m bench.gbm --systems <system> --gbm '{…}'` run over the same sets
and seeds; the table gives per set the mean test metric of each config (named by its `--gbm`
overrides, or by its learning rate and patience when it has none), and below it how often each is
within 0.001 of the best, the mean log loss (classification) and total train time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.gbm.scoring import MAIN_METRIC


def label(meta: dict) -> str:
    """The run's `--gbm` overrides as written, else its learning rate and patience."""
    import re

    found = re.search(r"--gbm '(\{.*?\})'", meta.get("command", ""))
    if found:
        return found.group(1).strip("{}").replace('"', "") or "the defaults"
    if "--gbm" not in meta.get("command", ""):
        return "the defaults"
    c = meta["gbm_config"]
    return f"learning_rate {c['learning_rate']}, early_stop {c['early_stop']}"


def markdown(runs: dict[str, dict], system: str = "lightgbm") -> str:
    names = list(runs)
    first = runs[names[0]]["results"]
    sets = list(dict.fromkeys(r["set"] for r in first))
    lines = [
        f"# gbm defaults: {system} under candidate configs",
        "",
        "Mean test metric over the seeds (ROC AUC binary, accuracy multiclass, R² regression); "
        "commands: " + "; ".join("`" + r["meta"]["command"] + "`" for r in runs.values()) + ".",
        "",
        "| set | " + " | ".join(names) + " |",
        "|" + "---|" * (1 + len(names)),
    ]
    near = dict.fromkeys(names, 0)
    seconds = {n: 0.0 for n in names}
    losses = {n: [] for n in names}
    for s in sets:
        row = []
        for n in names:
            rs = [r for r in runs[n]["results"] if r["set"] == s]
            task = rs[0]["task"]
            row.append(float(np.mean([r["systems"][system]["metrics"][MAIN_METRIC[task]] for r in rs])))
            seconds[n] += sum(r["systems"][system]["train_s"] for r in rs)
            if task != "regression":
                losses[n].append(float(np.mean([r["systems"][system]["metrics"]["log_loss"] for r in rs])))
        best = max(row)
        for n, v in zip(names, row):
            near[n] += v >= best - 0.001
        lines.append(f"| {s} | " + " | ".join(f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in row) + " |")
    lines += [
        "| within 0.001 of the best | " + " | ".join(f"{near[n]} / {len(sets)}" for n in names) + " |",
        "| mean log loss, classification sets | " + " | ".join(f"{np.mean(losses[n]):.4f}" for n in names) + " |",
        "| total train seconds (all sets and seeds, 1 thread) | "
        + " | ".join(f"{seconds[n]:.0f}" for n in names)
        + " |",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.gbm.compare", description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="JSON files written by python -m bench.gbm")
    ap.add_argument("--out", required=True)
    ap.add_argument("--system", default="lightgbm", help="which system of the runs to compare (lightgbm, tk_gbm)")
    args = ap.parse_args(argv)
    runs = {}
    for path in args.runs:
        data = json.loads(Path(path).read_text())
        runs[label(data["meta"])] = data
    Path(args.out).write_text(markdown(runs, args.system))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
