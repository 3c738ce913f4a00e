"""Runs sets × seeds × systems, one result JSON per run, cached in a work directory.

    results = run_suite(sets, seeds, systems, work, tree, tk=TkSpec(label, overrides, candidate), timeout)

Layout of `work` (default /tmp/tk-suite):
    <set>/full.csv, <set>/init-config.yaml     the data and the YAML `tk init-config` wrote for it (once)
    <set>/seed<k>/data.csv, test.csv           the data with its `split` column; the test rows
    <set>/seed<k>/<label>.json                 one run's result (reused unless fresh=True)
The systems beside tk (systems.py) do not change with tk, so their cached runs serve every tk
candidate; a system with `seeds=1` (AutoGluon) runs on the first seed asked for only. Every result
carries the 1-minute load average at its start and end (`load`): the machine is shared.
Results stored in a report's JSON (e.g. bench/results/suite_anchors.json) are read back with
`stored_runs` so a new tk run can be reported beside them without running them again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.suite.candidates import CANDIDATES, DataInfo
from bench.suite.datasets import DATASETS
from bench.suite.overrides import apply
from bench.suite.splits import split_labels
from bench.suite.systems import SYSTEMS
from bench.suite.tk_system import init_config, run_tk


@dataclass(frozen=True)
class TkSpec:
    """Which tk: a label for its results, overrides (`key=value`) and a named candidate."""

    label: str = "tk"
    overrides: tuple[str, ...] = ()
    candidate: str | None = None


@dataclass(frozen=True)
class Run:
    """One (set, seed, system) run and the files it reads and writes."""

    name: str
    seed: int
    label: str
    dir: Path
    task: str
    target: str

    @property
    def csv(self) -> Path:
        return self.dir / "data.csv"

    @property
    def test_csv(self) -> Path:
        return self.dir / "test.csv"

    @property
    def result(self) -> Path:
        return self.dir / f"{self.label}.json"


@dataclass
class Prepared:
    """A data set written once: the init-config YAML as a dict and the input types it guessed."""

    name: str
    config: dict
    columns: dict[str, str] = field(default_factory=dict)


def prepare(name: str, work: Path, tree: Path) -> Prepared:
    """Write <work>/<name>/full.csv and run `tk init-config` on it once."""
    import yaml

    spec = DATASETS[name]
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    guessed = out / "init-config.yaml"
    if not guessed.exists():
        spec.load().to_csv(out / "full.csv", index=False)
        init_config(tree, out / "full.csv", spec.target, guessed)
    config = yaml.safe_load(guessed.read_text())
    return Prepared(name, config, {f["name"]: f["type"] for f in config["input_features"]})


def write_split(name: str, seed: int, work: Path) -> Path:
    """<work>/<name>/seed<k>/data.csv (with `split`) and test.csv; returns the directory."""
    spec = DATASETS[name]
    out = work / name / f"seed{seed}"
    if (out / "test.csv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    df = spec.load()
    df["split"] = split_labels(df[spec.target], spec.task, seed)
    df.to_csv(out / "data.csv", index=False)
    df[df["split"] == "test"].to_csv(out / "test.csv", index=False)
    return out


def tk_config(prep: Prepared, run: Run, tk: TkSpec) -> dict:
    """The init-config YAML + the fixed split + the candidate's and the explicit overrides."""
    import copy

    import pandas as pd

    cfg = copy.deepcopy(prep.config)
    cfg.pop("dataset", None)  # the suite passes --dataset
    cfg.setdefault("preprocessing", {})["split"] = {"type": "fixed", "column": "split"}
    if tk.candidate:
        split = pd.read_csv(run.csv, usecols=["split"])["split"]
        info = DataInfo(train_rows=int((split == "train").sum()), inputs=len(prep.columns), task=run.task)
        apply(cfg, CANDIDATES[tk.candidate](info))
    return apply(cfg, list(tk.overrides))


def run_one(prep: Prepared, run: Run, system: str, tk: TkSpec, tree: Path, timeout: float) -> dict[str, Any]:
    """One run, its errors recorded in the result instead of raised."""
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    try:
        if system == "tk":
            cfg = tk_config(prep, run, tk)
            result = {**run_tk(run, cfg, tree, timeout), "overrides": list(tk.overrides), "candidate": tk.candidate}
        else:
            result = SYSTEMS[system].run(run, prep.columns)
    except Exception as e:  # noqa: BLE001 - a failed run is a result; the suite goes on
        result = {"error": f"{type(e).__name__}: {e}"[:600]}
    return {
        "set": run.name,
        "seed": run.seed,
        "system": run.label,
        "task": run.task,
        "wall_s": round(time.perf_counter() - t0, 3),
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
        **result,
    }


def run_suite(
    sets: list[str],
    seeds: list[int],
    systems: list[str],
    work: Path,
    tree: Path,
    tk: TkSpec = TkSpec(),
    timeout: float = 600,
    fresh: bool = False,
    log=print,
    cached_only: bool = False,
) -> list[dict]:
    """Every run asked for (cached ones read back; only those with cached_only); the result dicts."""
    unknown = [s for s in systems if s != "tk" and s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: tk, {', '.join(SYSTEMS)}")
    results = []
    for name in sets:
        spec = DATASETS[name]
        prep = prepare(name, work, tree)
        for seed in seeds:
            directory = write_split(name, seed, work)
            for system in systems:
                if system != "tk" and SYSTEMS[system].seeds is not None and seed not in seeds[: SYSTEMS[system].seeds]:
                    continue
                label = tk.label if system == "tk" else system
                run = Run(name, seed, label, directory, spec.task, spec.target)
                if run.result.exists() and not fresh:
                    results.append(json.loads(run.result.read_text()))
                    continue
                if cached_only:
                    continue
                r = run_one(prep, run, system, tk, tree, timeout)
                run.result.write_text(json.dumps(r, indent=1))
                log(_line(r))
                results.append(r)
    return results


def _line(r: dict) -> str:
    m = r.get("metrics", {})
    shown = " ".join(f"{k}={v:.4f}" for k, v in m.items()) or r.get("error", "")
    return f"{r['set']:>18} seed {r['seed']} {r['system']:>12}: {shown} ({r.get('train_s', 0):.1f} s)"


def stored_runs(path: Path, sets: list[str], seeds: list[int], skip: set[str] = frozenset()) -> list[dict]:
    """The runs a report's JSON holds (its "runs"), for these sets and seeds, less the systems in `skip`."""
    runs = json.loads(Path(path).read_text())["runs"]
    return [r for r in runs if r["set"] in sets and r["seed"] in seeds and r["system"] not in skip]
