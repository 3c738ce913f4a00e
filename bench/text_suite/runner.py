"""Sets × seeds × systems for the text suite, one cached JSON per run.

Layout of `work` (default /tmp/tk-text-suite):
    <set>/full.csv                          the set (text column + target)
    <set>/<label>.init-config.yaml          what `tk init-config full.csv --target y` wrote, per tk label
    <set>/seed<k>/data.csv, test.csv        the rows with a `split` column (70/10/20, stratified); test rows
    <set>/seed<k>/<label>.json              one run's result (reused unless fresh)

tk: the init-config YAML as written, `dataset` removed and `preprocessing.split` set to the
fixed `split` column (as bench.suite does), then any overrides; `tk train` and `tk predict` run
as processes from `tree` (bench.suite.tk_system). tfidf_lr: baseline.tfidf_logreg on the same
rows (C tuned on the validation rows, refitted on train + validation).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.suite.overrides import apply
from bench.suite.runner import Run
from bench.suite.splits import split_labels
from bench.suite.tk_system import init_config, run_tk
from bench.text_suite.baseline import tfidf_logreg
from bench.text_suite.datasets import TEXT_SETS


def prepare(name: str, work: Path, tree: Path, label: str) -> dict:
    """full.csv once; the init-config YAML of `tree` (cached per label) as a dict."""
    import yaml

    spec, out = TEXT_SETS[name], work / name
    write_full(name, work)
    guessed = out / f"{label}.init-config.yaml"
    if not guessed.exists():
        init_config(tree, out / "full.csv", spec.target, guessed)
    return yaml.safe_load(guessed.read_text())


def write_full(name: str, work: Path) -> None:
    """<work>/<name>/full.csv, once (written aside, then renamed: runs in parallel may read it)."""
    full = work / name / "full.csv"
    if not full.exists():
        full.parent.mkdir(parents=True, exist_ok=True)
        TEXT_SETS[name].load().to_csv(full.with_suffix(".tmp"), index=False)
        full.with_suffix(".tmp").replace(full)


def write_split(name: str, seed: int, work: Path) -> Path:
    import pandas as pd

    spec, out = TEXT_SETS[name], work / name / f"seed{seed}"
    if (out / "test.csv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    write_full(name, work)
    df = pd.read_csv(work / name / "full.csv", keep_default_na=False, dtype=str)
    df["split"] = split_labels(df[spec.target], spec.task, seed)
    df.to_csv(out / "data.csv", index=False)
    df[df["split"] == "test"].to_csv(out / "test.tmp", index=False)
    (out / "test.tmp").replace(out / "test.csv")
    return out


def run_one(
    name: str,
    seed: int,
    system: str,
    label: str,
    directory: Path,
    config: dict | None,
    overrides: list[str],
    tree: Path,
    timeout: float,
) -> dict:
    import copy

    import pandas as pd

    spec = TEXT_SETS[name]
    run = Run(name, seed, label, directory, spec.task, spec.target)
    t0 = time.perf_counter()
    rows = len(pd.read_csv(run.csv, usecols=["split"]))
    try:
        if system == "tk":
            cfg = copy.deepcopy(config)
            cfg.pop("dataset", None)
            cfg.setdefault("preprocessing", {})["split"] = {"type": "fixed", "column": "split"}
            result = {
                **run_tk(run, apply(cfg, list(overrides)), tree, timeout),
                "overrides": list(overrides),
                "text_line": [f for f in cfg["input_features"] if f["type"] == "text"],
            }
        else:
            df = pd.read_csv(run.csv, keep_default_na=False, dtype=str)
            parts = {p: df[df["split"] == p] for p in ("train", "validation", "test")}
            result = tfidf_logreg(parts["train"], parts["validation"], parts["test"], spec.text, spec.target, spec.task)
    except Exception as e:  # noqa: BLE001 - a failed run is a result; the suite goes on
        result = {"error": f"{type(e).__name__}: {e}"[:600]}
    return {
        "set": name,
        "seed": seed,
        "system": label,
        "task": spec.task,
        "rows": rows,
        "wall_s": round(time.perf_counter() - t0, 3),
        **result,
    }


def run_suite(
    sets,
    seeds,
    systems,
    work: Path,
    tree: Path,
    label: str = "tk",
    overrides=(),
    timeout=600,
    fresh=False,
    cached_only=False,
    log=print,
) -> list[dict]:
    results = []
    for name in sets:
        config, refused = None, None
        if "tk" in systems and not cached_only:
            try:
                config = prepare(name, work, tree, label)
            except RuntimeError as e:  # init-config refused the set: every tk run of it is that error
                refused = str(e)
        for seed in seeds:
            directory = write_split(name, seed, work)
            for system in systems:
                run_label = label if system == "tk" else system
                path = directory / f"{run_label}.json"
                cached = json.loads(path.read_text()) if path.exists() and not fresh else None
                if cached is not None and (cached_only or "timeout" not in cached.get("error", "")):
                    results.append(cached)  # a run that timed out (a loaded machine) is run again
                    continue
                if cached_only:
                    continue
                if system == "tk" and refused:
                    r = {
                        "set": name,
                        "seed": seed,
                        "system": run_label,
                        "task": TEXT_SETS[name].task,
                        "error": f"init-config: {refused}"[:600],
                    }
                else:
                    r = run_one(name, seed, system, run_label, directory, config, list(overrides), tree, timeout)
                path.write_text(json.dumps(r, indent=1))
                m = r.get("metrics", {})
                log(
                    f"{name:>8} seed {seed} {run_label:>10}: "
                    + (" ".join(f"{k}={v:.4f}" for k, v in m.items()) or r.get("error", ""))
                    + f" ({r.get('train_s', 0):.1f} s)"
                )
                results.append(r)
    return results
