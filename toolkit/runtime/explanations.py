"""Attributions from a tk ONNX file (its explain branch, built by toolkit.export.explain), numpy only.

    from toolkit.runtime.predictor import Predictor
    Predictor("runs/churn").explain(df)      # DataFrame: `<output>::why::<input>`, same index
    Predictor("runs/churn").explain(rows)    # [{"churn": {"tenure": -0.81, …}}, …]

The file computes them when fed `tk::explain = true` (an input with a default of false, so a plain
prediction never runs the branch); `tk.explain` in its metadata names the inputs (the players) in
the order of the attribution columns, the method and the baseline scores.
"""

from __future__ import annotations

import json

import numpy as np

from toolkit.errors import TkError

EXPLAIN_INPUT = "tk::explain"
METADATA = "tk.explain"
ATTRIBUTIONS = "::attributions"
CLASS_ATTRIBUTIONS = "::class_attributions"
#: Core evaluations per onnxruntime run: rows per run = this / evaluations per row.
CHUNK_EVALUATIONS = 16_384


def is_attribution(output: str) -> bool:
    return output.endswith(ATTRIBUTIONS) or output.endswith(CLASS_ATTRIBUTIONS)


def why_column(output: str, player: str) -> str:
    """The column of one attribution in a table: `<output>::why::<input>`."""
    return f"{output}::why::{player}"


def info(session, where, model_dir=None) -> dict:
    """The file's `tk.explain` metadata, or a TkError in one line saying how to add it."""
    meta = session.get_modelmeta().custom_metadata_map
    has_input = EXPLAIN_INPUT in {i.name for i in session.get_overridable_initializers()}
    if METADATA not in meta or not has_input:
        raise TkError(f"{where}: this model.onnx has no explanations (written by an older tk); add them "
                      f"without retraining: tk export {model_dir or 'MODEL_DIR'} --rebuild")
    return json.loads(meta[METADATA])


def run(session, outputs: list[str], feed: dict[str, np.ndarray], n: int, evaluations: int) -> dict[str, np.ndarray]:
    """{`<output>::attributions`: [N, P], …} for fed rows, in runs of CHUNK_EVALUATIONS core rows."""
    names = [o for o in outputs if is_attribution(o)]
    step = max(1, CHUNK_EVALUATIONS // max(evaluations, 1))
    parts = []
    for start in range(0, n, step):
        part = {c: v[start:start + step] for c, v in feed.items()}
        parts.append(session.run(names, part | {EXPLAIN_INPUT: np.array(True)}))
    return {name: np.concatenate([p[k] for p in parts]) for k, name in enumerate(names)}


def as_table(attributions: dict[str, np.ndarray], players: list[str], index):
    """A DataFrame: `<output>::why::<input>` per output and input."""
    import pandas as pd

    cols = {}
    for name, arr in attributions.items():
        if name.endswith(ATTRIBUTIONS):
            base = name[: -len(ATTRIBUTIONS)]
            for j, p in enumerate(players):
                cols[why_column(base, p)] = arr[:, j]
    return pd.DataFrame(cols, index=index)


def as_records(attributions: dict[str, np.ndarray], players: list[str], n: int) -> list[dict]:
    """[{output: {input: attribution}}] per row."""
    rows: list[dict] = [{} for _ in range(n)]
    for name, arr in attributions.items():
        if name.endswith(ATTRIBUTIONS):
            base = name[: -len(ATTRIBUTIONS)]
            for i, values in enumerate(arr.tolist()):
                rows[i][base] = dict(zip(players, values))
    return rows
