"""Parity: the exported ONNX file must answer exactly like the torch model.

Rows checked: the validation rows (when given) plus edge rows built from each
input's type: NaN, ±inf, huge and negative numbers, empty and whitespace
strings, unseen categories, accents and CJK, a 10,000-character string.
Reference: the preprocessing graph in onnxruntime → torch model → each output
feature's `predict` in numpy. Labels must be identical, probabilities within
`tolerance` absolute, values within `tolerance` relative to the larger of the
value and the output's median size (absolute below 1). Attributions (the explain
branch, toolkit.export.explain) are checked on the edge rows and up to
EXPLAIN_ROWS others against the same game computed by the training path, in raw
score units, like values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.errors import TkError
from toolkit.features.base import RAW_FLOAT

#: Rows besides the edge rows whose attributions the parity check compares (each costs E core rows).
EXPLAIN_ROWS = 40


def edge_columns(trained, rows: int = 24) -> dict[str, np.ndarray]:
    """{column: [rows]} of hostile values mixed with known good ones: each input's `edge_values()`."""
    cols: dict[str, np.ndarray] = {}
    for k, f in enumerate(trained.inputs):
        col = f.config.source
        if col in cols:
            continue
        pool = f.edge_values()
        if f.raw_dtype == RAW_FLOAT:
            cols[col] = np.array([pool[(i + k) % len(pool)] for i in range(rows)], dtype=np.float32)
        else:
            step = 3 if len(pool) % 3 else 1  # a stride that divides the pool would skip most of it
            cols[col] = np.array([pool[(i * step + k) % len(pool)] for i in range(rows)], dtype=object)
    return cols


@dataclass
class ParityReport:
    rows: int
    max_abs_diff: dict[str, float]
    label_mismatches: dict[str, int]
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(v <= self.tolerance for v in self.max_abs_diff.values()) and not any(self.label_mismatches.values())

    def summary(self) -> str:
        worst = max(self.max_abs_diff.values(), default=0.0)
        labels = sum(self.label_mismatches.values())
        return (
            f"parity on {self.rows} rows: max |Δ| {worst:.2e} (≤ {self.tolerance:g}), "
            f"{labels} label mismatch{'es' if labels != 1 else ''}: {'ok' if self.ok else 'FAILED'}"
        )


def torch_reference(trained, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Expected outputs by the training path, named like the ONNX outputs."""
    import torch

    from toolkit.training.batches import predict_raw

    pre = trained.preprocessor.transform(columns)
    x = [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in trained.inputs]
    out = {}
    for o, raw in zip(trained.outputs, predict_raw(trained.model, x)):
        for key, value in o.predict(raw).items():
            out[f"{o.config.name}::{key}"] = value
    return out


def _relative_error(have: np.ndarray, want: np.ndarray, unit: float = 1.0) -> float:
    """max |have − want| / scale: scale is |want| but at least the typical |want| and at least `unit`."""
    scale = np.maximum(np.abs(want), max(unit, float(np.nanmedian(np.abs(want))) if want.size else unit))
    return float(np.max(np.abs(have.astype(np.float64) - want) / scale, initial=0.0))


def check_attributions(trained, session, columns: dict[str, np.ndarray], background) -> dict[str, float]:
    """{`<output>::attributions`: max relative error} of an explaining session (the file's switch on) on
    `columns`, against the same game computed by the training path."""
    from toolkit.export import explain

    want = explain.reference(trained, columns, background)
    names = [o.name for o in session.get_outputs()]
    feed = {c: v for c, v in columns.items() if c in {i.name for i in session.get_inputs()}}
    got = dict(zip(names, session.run(None, feed)))
    units = {explain.attributions_name(o.config.name): abs(explain._scale(o)) for o in trained.outputs}
    return {
        k: _relative_error(got[k], w, units.get(k, 1.0))
        if np.isfinite(got[k]).all() and np.isfinite(w).all()
        else float("inf")  # a NaN attribution is a failure, not a NaN error that no tolerance catches
        for k, w in want.items()
    }


def explain_rows(columns: dict[str, np.ndarray], edges: int) -> dict[str, np.ndarray]:
    """The last `edges` rows (the edge rows) and up to EXPLAIN_ROWS of the others."""
    n = len(next(iter(columns.values())))
    keep = np.r_[np.arange(min(EXPLAIN_ROWS, n - edges)), np.arange(n - edges, n)]
    return {c: v[keep] for c, v in columns.items()}


def check(trained, session, columns: dict[str, np.ndarray], tolerance: float = 1e-5) -> ParityReport:
    """Compare the ONNX session with the torch path on the given raw columns (predictions only)."""
    expected = torch_reference(trained, columns)
    names = [o.name for o in session.get_outputs()]
    got = dict(
        zip(names, session.run(None, {c: v for c, v in columns.items() if c in {i.name for i in session.get_inputs()}}))
    )
    diffs, mismatches = {}, {}
    for key, want in expected.items():
        have = got[key]
        if want.dtype == object:
            mismatches[key] = int((np.asarray(have, dtype=object) != want).sum())
        else:
            # the graph computes in float32: probabilities (≤ 1) are held to |Δ| ≤ tolerance,
            # larger values (a price of $10,000) to |Δ| / |value| ≤ tolerance, where |value| is
            # at least the output's typical size (median |value| over the rows): a $3 prediction
            # from a model of $4,000 prices carries the float32 rounding of the $4,000 scale
            scale = np.maximum(np.abs(want), max(1.0, float(np.nanmedian(np.abs(want))) if want.size else 1.0))
            err = np.abs(have.astype(np.float64) - want) / scale
            diffs[key] = float(np.max(err, initial=0.0))
    return ParityReport(len(next(iter(columns.values()))), diffs, mismatches, tolerance)


def concat_columns(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {c: np.concatenate([a[c], b[c]]) for c in a}


def assert_parity(
    trained,
    session,
    columns: dict[str, np.ndarray] | None = None,
    tolerance: float = 1e-5,
    background: dict[str, np.ndarray] | None = None,
    explain_session=None,
) -> ParityReport:
    """Run `check` on `columns` plus the edge rows, and with `explain_session` (the file with its explain
    switch on) `check_attributions` on the edge rows and some others (`background`: the rows the file's
    attributions were built from, by default the model's own); raise TkError when parity fails."""
    edges = edge_columns(trained)
    rows = edges if columns is None else concat_columns(columns, edges)
    report = check(trained, session, rows, tolerance)
    if background is None:
        background = getattr(trained, "explain_columns", None)
    if explain_session is not None:
        report.max_abs_diff |= check_attributions(
            trained, explain_session, explain_rows(rows, len(next(iter(edges.values())))), background
        )
    if not report.ok:
        raise TkError(
            f"ONNX export failed its {report.summary()}; per output: "
            f"max |Δ| {report.max_abs_diff}, label mismatches {report.label_mismatches}"
        )
    return report
