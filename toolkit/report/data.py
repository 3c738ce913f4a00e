"""What a report shows about one model on one labelled table.

`gather` loads the model directory, computes its metrics with
`TrainedModel.evaluate` (so they are exactly those of `tk evaluate --json`),
runs the ONNX file once more through the Predictor for the per-row outputs the
plots need, and collects the targets, the data summary and the model's
interface (inputs and outputs from the ONNX file's metadata).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolkit.features.base import known_rows

CLASSIFICATION = ("binary", "category")


@dataclass
class OutputRows:
    """One output feature on the rows whose target is known.

    binary / category: `y` class index int [N], `proba` [N, C], `classes` C names.
    number: `y` true value [N], `value` predicted [N].
    set: `y` multi-hot int [N, C], `proba` [N, C], `classes` C member names, `threshold`.
    """

    name: str
    type: str
    y: np.ndarray
    proba: np.ndarray | None = None
    value: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    threshold: float | None = None
    dropped: int = 0  # rows without a known target
    rows: np.ndarray | None = None  # int [N]: where these rows are in the data (for plots along a column)

    @property
    def pred(self) -> np.ndarray:
        """Predicted class index [N] (binary: at the threshold; category: argmax)."""
        if self.type == "binary":
            return (self.proba[:, 1] >= self.threshold).astype(int)
        return self.proba.argmax(axis=1)


@dataclass
class ModelRun:
    """Everything the plots and the page need about one model on the dataset."""

    label: str
    path: Path
    model: object  # toolkit.pipeline.trained.TrainedModel
    metrics: dict[str, dict[str, float]]  # = model.evaluate(dataset): `tk evaluate --json`
    outputs: list[OutputRows]
    targets: dict[str, np.ndarray]  # output name → encoded target [N] / [N, C] over all rows (NaN = unknown)
    interface: dict  # {"inputs": [...], "outputs": [...]}: see `interface`

    @property
    def stats(self) -> dict:
        return self.model.stats


def gather(model, path: Path, label: str, df, source: str) -> ModelRun:
    """Run a loaded model (a TrainedModel read from `path`) on the DataFrame `df` (read from `source`)."""
    from toolkit.data import tables as tkdata

    metrics = model.evaluate(df, source=source)
    outs = model.outputs_for(df, source)
    rows, targets = [], {}
    for o in model.outputs:
        name = o.config.name
        y = o.encode_target(tkdata.raw_column(df, o.config.source, o.raw_dtype, source))
        targets[name] = y
        keep = known_rows(y)
        rows.append(_output_rows(o, y[keep], {k: v[keep] for k, v in outs.items()}, int((~keep).sum())))
        rows[-1].rows = np.flatnonzero(keep)
    return ModelRun(label, Path(path), model, metrics, rows, targets, interface(model))


def _output_rows(o, y: np.ndarray, outs: dict[str, np.ndarray], dropped: int) -> OutputRows:
    name, kind = o.config.name, o.type
    if o.classes is None:  # a value output: targets back in their units through the feature's own `predict`
        return OutputRows(
            name, kind, o.predict(y)["value"], value=outs[f"{name}::value"].astype(np.float64), dropped=dropped
        )
    proba = outs[f"{name}::probabilities"].astype(np.float64)
    threshold = o.threshold
    return OutputRows(
        name, kind, y.astype(int), proba=proba, classes=list(o.classes), threshold=threshold, dropped=dropped
    )


def interface(model) -> dict:
    """The ONNX file's inputs and outputs with the features behind them.

    {"inputs": [{"name", "dtype", "feature", "type"}], "outputs": [{"name", "dtype", "shape",
    "feature", "type", "classes"}]}: names and dtypes from the file's `tk.inputs` /
    `tk.outputs` metadata, feature types from `tk.features`.
    """
    meta = model.predictor.metadata
    features = meta.get("tk.features", {}) if isinstance(meta.get("tk.features"), dict) else {}
    by_column = {}
    for f in features.get("inputs", []):
        by_column.setdefault(f.get("column", f["name"]), []).append(f)
    out_features = {f["name"]: f for f in features.get("outputs", [])}
    inputs = []
    for i in meta.get("tk.inputs", []) or [{"name": n, "dtype": t} for n, t in model.predictor.inputs.items()]:
        fs = by_column.get(i["name"], [])
        inputs.append(
            {
                "name": i["name"],
                "dtype": i["dtype"],
                "feature": ", ".join(f["name"] for f in fs),
                "type": ", ".join(f["type"] for f in fs),
            }
        )
    outputs = []
    for o in meta.get("tk.outputs", []) or [{"name": n, "dtype": "", "shape": []} for n in model.predictor.outputs]:
        f = out_features.get(o["name"].partition("::")[0], {})
        outputs.append(
            {
                "name": o["name"],
                "dtype": o.get("dtype", ""),
                "shape": "[" + ", ".join(map(str, o.get("shape", []))) + "]",
                "feature": f.get("name", ""),
                "type": f.get("type", ""),
                "classes": f.get("classes", []),
            }
        )
    return {"inputs": inputs, "outputs": outputs}


def data_summary(df, runs: list[ModelRun]) -> dict:
    """Rows, missing values per column (of the columns the models use) and class balance.

    {"rows": N, "missing": {column: count}, "balance": {output: {class: count}}}
    """
    columns: list[str] = []
    for run in runs:
        for f in run.model.config.input_features + run.model.config.output_features:
            if f.source not in columns and f.source in df.columns:
                columns.append(f.source)
    missing = {c: _missing(df[c]) for c in columns}
    balance: dict[str, dict[str, int]] = {}
    for run in runs:
        for o in run.outputs:
            if o.name in balance or o.type not in CLASSIFICATION + ("set",):
                continue
            counts = np.bincount(o.y, minlength=len(o.classes)) if o.type != "set" else o.y.sum(axis=0)
            balance[o.name] = {c: int(n) for c, n in zip(o.classes, counts)}
    return {"rows": len(df), "missing": missing, "balance": balance}


def _missing(series) -> int:
    """Missing values of a column: NaN / None, and blank strings (tk reads "" as missing)."""
    n = int(series.isna().sum())
    if series.dtype.kind in "OSUT" or str(series.dtype) in ("str", "string"):
        n += int((series.dropna().astype(str).str.strip() == "").sum())
    return n
