"""Permutation importance through the ONNX Predictor, with 95% confidence intervals.

sklearn.inspection.permutation_importance does the shuffling: one raw input
column of the ONNX file at a time, `repeats` times; the importance of a column
is the drop of an output's score (baseline − shuffled). Scoring runs the model's
ONNX file in onnxruntime (toolkit.runtime.predictor.Predictor), so it is the deployed
model that is explained, preprocessing included. One pass scores every output
of a multi-output model.

Score per output (higher is better): the output feature's `importance_metric`. The interval is
mean ± t(0.975, repeats − 1) · std / √repeats (Student t over the repeats);
it measures the noise of shuffling, not of the data sample.

Beside it, `attribution_importance`: the mean |attribution| per input over the rows (the file's
explanations, toolkit.export.explain): how far each input moves a row's score on average, in the
score's units (log-odds, value, top-class logit), rather than how much the metric needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.features.base import known_rows

#: Output type → the metric (from TrainedModel.evaluate's set) whose drop is the importance.
MAX_ROWS = 2_000
REPEATS = 5
#: Rows whose attributions are averaged (each costs one explained row: ~E core evaluations).
EXPLAIN_ROWS = 500


@dataclass
class Importance:
    """One output's importances: columns sorted by mean drop, largest first.

    `mean`, `low`, `high` [F]; `drops` [F, repeats]; `baseline` the unshuffled score.
    """

    output: str
    metric: str
    baseline: float
    columns: list[str]
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    drops: np.ndarray


class _OnnxModel:
    """What sklearn's permutation_importance needs of an estimator: a `fit` that does nothing."""

    def __init__(self, predictor):
        self.predictor = predictor

    def fit(self, X, y=None):
        return self


def permutation_importance(
    run, df, repeats: int = REPEATS, max_rows: int = MAX_ROWS, seed: int = 0
) -> list[Importance]:
    """Importances of every raw input column for each output of `run` (a data.ModelRun).

    `df` is the labelled table (all columns); at most `max_rows` of its rows are
    used, sampled with `seed`. Rows without an output's target are left out of
    that output's score.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    model, predictor = run.model, run.model.predictor
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(df), size=min(max_rows, len(df)), replace=False))
    X = df.iloc[rows][list(predictor.inputs)].reset_index(drop=True)
    targets = {name: y[rows] for name, y in run.targets.items()}
    outputs = {o.config.name: o for o in model.outputs}

    def score(estimator, X_part, idx) -> dict[str, float]:
        outs = estimator.predictor.run(X_part)
        result = {}
        for name, o in outputs.items():
            y = targets[name][idx]
            keep = known_rows(y)
            result[name] = o.importance_score(y[keep], {k: v[keep] for k, v in outs.items()}) if keep.any() else np.nan
        return result

    estimator = _OnnxModel(predictor)
    baseline = score(estimator, X, np.arange(len(X)))
    found = sk_permutation_importance(
        estimator, X, np.arange(len(X)), scoring=score, n_repeats=repeats, random_state=seed
    )
    return [
        _summarise(name, outputs[name].importance_metric, baseline[name], found[name].importances, list(X.columns))
        for name in outputs
    ]


def _summarise(output: str, metric: str, baseline: float, drops, columns: list[str]) -> Importance:
    """Mean drop and its 95% interval per column [F], sorted by mean drop (NaN last)."""
    from scipy import stats

    drops = np.asarray(drops, dtype=np.float64)  # [F, repeats]
    repeats = drops.shape[1]
    mean = drops.mean(axis=1)
    half = (
        stats.t.ppf(0.975, repeats - 1) * drops.std(axis=1, ddof=1) / np.sqrt(repeats)
        if repeats > 1
        else np.zeros_like(mean)
    )
    order = np.argsort(-np.nan_to_num(mean, nan=-np.inf), kind="stable")
    return Importance(
        output,
        metric,
        baseline,
        [columns[i] for i in order],
        mean[order],
        (mean - half)[order],
        (mean + half)[order],
        drops[order],
    )


@dataclass
class Attribution:
    """One output's mean |attribution| per input over `rows` rows, largest first."""

    output: str
    names: list[str]
    mean_abs: np.ndarray
    rows: int


def attribution_importance(run, df, max_rows: int = EXPLAIN_ROWS, seed: int = 0) -> list[Attribution]:
    """Mean |attribution| per input of each output over at most `max_rows` rows of `df` (sampled with
    `seed`), through model.onnx's explanations; [] for a file without them."""
    predictor = run.model.predictor
    if not isinstance(predictor.metadata.get("tk.explain"), dict):
        return []
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(df), size=min(max_rows, len(df)), replace=False))
    why = predictor.explain(df.iloc[rows][list(predictor.inputs)].reset_index(drop=True))
    out = []
    for o in run.model.outputs:
        prefix = f"{o.config.name}::why::"
        cols = [c for c in why.columns if c.startswith(prefix)]
        mean = why[cols].abs().mean(axis=0).to_numpy(np.float64)
        order = np.argsort(-mean, kind="stable")
        out.append(Attribution(o.config.name, [cols[i][len(prefix) :] for i in order], mean[order], len(rows)))
    return out
