"""Attributions from a tk ONNX file (its explain branch, built by toolkit.export.explain), numpy only.

    from toolkit.runtime.predictor import Predictor
    Predictor("runs/churn").explain(df)      # DataFrame: `<output>::why::<input>`, same index
    Predictor("runs/churn").explain(rows)    # [{"churn": {"tenure": -0.81, …}}, …]

The file computes them in an If branch whose condition is the initializer `tk::explain`, false in the
file (a plain prediction never runs the branch); an explaining session is made from a copy of the
bytes with it turned on (`switched`; onnxruntime's JavaScript API could not feed it as an input, and
a constant keeps onnxruntime quiet and free to fold it). `tk.explain` in the metadata names the
inputs (the players) in the order of the attribution columns, the method ("trees": exact TreeSHAP, its
"tree_game" path_dependent for model_type gbm, interventional in an ensemble; "exact" / "permutations":
sampled coalitions; "trees + …": an ensemble's two parts) and the baseline scores.
"""

from __future__ import annotations

import json

import numpy as np

from toolkit.errors import TkError

EXPLAIN_SWITCH = "tk::explain"
METADATA = "tk.explain"
ATTRIBUTIONS = "::attributions"
CLASS_ATTRIBUTIONS = "::class_attributions"
#: Core evaluations per onnxruntime run: rows per run = this / the metadata's evaluations per row (for trees,
#: explained exactly, their gathered elements per row / 64: a comparable memory and time per row).
CHUNK_EVALUATIONS = 16_384


def is_attribution(output: str) -> bool:
    return output.endswith(ATTRIBUTIONS) or output.endswith(CLASS_ATTRIBUTIONS)


def why_column(output: str, player: str) -> str:
    """The column of one attribution in a table: `<output>::why::<input>`."""
    return f"{output}::why::{player}"


def info(metadata: dict, where, model_dir=None) -> dict:
    """The file's `tk.explain` metadata (from its metadata_props), or a TkError in one line saying how to add it."""
    text = metadata.get(METADATA)
    found = json.loads(text) if isinstance(text, str) else text
    if not isinstance(found, dict) or "switch" not in found:
        raise TkError(
            f"{where}: this model.onnx has no explanations (written by an older tk); add them "
            f"without retraining: tk export {model_dir or 'MODEL_DIR'} --rebuild"
        )
    return found


def switched(data: bytes, meta: dict, where) -> bytes:
    """The file's bytes with its explain branch on: the `tk::explain` initializer's serialized bytes
    turned from "off" to "on" (metadata `switch`; the same length), which must occur exactly once."""
    off, on = bytes.fromhex(meta["switch"]["off"]), bytes.fromhex(meta["switch"]["on"])
    at = data.find(off)
    if at < 0 or data.find(off, at + 1) >= 0 or len(on) != len(off):
        raise TkError(
            f"{where}: the explain switch of this model.onnx is not where its metadata says; "
            "re-export it: tk export MODEL_DIR --rebuild"
        )
    return data[:at] + on + data[at + len(off) :]


def run(
    session, outputs: list[str], feed: dict[str, np.ndarray], n: int, evaluations: int, classes: bool = False
) -> dict[str, np.ndarray]:
    """{`<output>::attributions`: [N, P] (and with `classes` `::class_attributions` [N, C, P])} for fed rows,
    in runs of CHUNK_EVALUATIONS core rows."""
    names = [o for o in outputs if o.endswith(ATTRIBUTIONS) or (classes and o.endswith(CLASS_ATTRIBUTIONS))]
    step = max(1, CHUNK_EVALUATIONS // max(evaluations, 1))
    parts = []
    for start in range(0, n, step):
        part = {c: v[start : start + step] for c, v in feed.items()}
        parts.append(session.run(names, part))
    return {name: np.concatenate([p[k] for p in parts]) for k, name in enumerate(names)}


def as_table(attributions: dict[str, np.ndarray], players: list[str], index, classes: dict | None = None):
    """A DataFrame: `<output>::why::<input>` per output and input (the top class's for a class output);
    with class attributions also `<output>::why::<class>::<input>` for every class."""
    import pandas as pd

    cols = {}
    for name, arr in attributions.items():
        if name.endswith(CLASS_ATTRIBUTIONS):
            base = name[: -len(CLASS_ATTRIBUTIONS)]
            for k, c in enumerate((classes or {}).get(base) or range(arr.shape[1])):
                for j, p in enumerate(players):
                    cols[why_column(base, f"{c}::{p}")] = arr[:, k, j]
        elif name.endswith(ATTRIBUTIONS):
            base = name[: -len(ATTRIBUTIONS)]
            for j, p in enumerate(players):
                cols[why_column(base, p)] = arr[:, j]
    return pd.DataFrame(cols, index=index)


def as_records(
    attributions: dict[str, np.ndarray], players: list[str], n: int, classes: dict | None = None
) -> list[dict]:
    """[{output: {input: attribution}}] per row; with class attributions also
    {"<output>::classes": {class: {input: attribution}}}."""
    rows: list[dict] = [{} for _ in range(n)]
    for name, arr in attributions.items():
        if name.endswith(CLASS_ATTRIBUTIONS):
            base = name[: -len(CLASS_ATTRIBUTIONS)]
            names = list((classes or {}).get(base) or range(arr.shape[1]))
            for i, per_class in enumerate(arr.tolist()):
                rows[i][f"{base}::classes"] = {str(c): dict(zip(players, v)) for c, v in zip(names, per_class)}
        elif name.endswith(ATTRIBUTIONS):
            base = name[: -len(ATTRIBUTIONS)]
            for i, values in enumerate(arr.tolist()):
                rows[i][base] = dict(zip(players, values))
    return rows
