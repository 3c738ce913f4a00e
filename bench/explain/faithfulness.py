"""Faithfulness of model.onnx's attributions on one suite set and model kind.

    r = measure("Boston", "gbm", work)     # {"spearman": …, "deletion": {…}, …}

- Spearman per row (median over rows) between the file's attributions and shap's on the same model:
  shap.TreeExplainer on the LightGBM booster for model_type gbm, its columns summed per input, in its
  default game (tree_path_dependent, LightGBM's pred_contrib: the file's game for gbm) and, beside it, in
  the interventional game (data = the file's 16 background rows: another game); shap.PermutationExplainer (10 antithetic permutations per row, a
  50-row background of training rows, shap's Independent masker) on the ONNX file's score for nn and
  ensemble, on a sample of test rows. The score explained is the file's: log-odds (binary), the value
  (number), the logit of the row's top class (category), computed by the training path for shap.
- Deletion: per row, the top-k inputs by |attribution| are replaced by background values (the mean over
  20 background rows) and the score moves by |Δ|; the same for k random inputs. Passed when the
  top-k mean |Δ| exceeds the random-k one. k = max(1, P // 5).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROWS = 40  # test rows explained per set and kind
SHAP_ROWS = 20  # of which shap's permutation explainer explains (it is slow)
BACKGROUND = 50  # shap's background rows (training rows)


def _config(prep, kind: str) -> dict:
    import copy

    cfg = copy.deepcopy(prep.config)
    cfg.pop("dataset", None)
    cfg.setdefault("preprocessing", {})["split"] = {"type": "fixed", "column": "split"}
    cfg["model_type"] = kind
    from toolkit.models import kind_of

    refused = [f for f in cfg["input_features"] if kind_of(kind).refusal(f["type"])]
    cfg["input_features"] = [f for f in cfg["input_features"] if f not in refused]  # gbm: no text inputs
    cfg.setdefault("trainer", {})["epochs"] = min(cfg.get("trainer", {}).get("epochs", 30), 30)
    return cfg


def _score_fn(model):
    """Raw columns → the explained score of the first output per row (float64): its `explain_score` of the
    core's raw output (log-odds, value), or the logit of class `top` (by default the top class)."""
    import torch

    from toolkit.training.batches import predict_raw

    o = model.outputs[0]

    def score(columns: dict[str, np.ndarray], top=None) -> np.ndarray:
        pre = model.preprocessor.transform(columns)
        raw = np.asarray(
            predict_raw(
                model.model, [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in model.inputs]
            )[0],
            np.float64,
        )
        if raw.ndim == 1:
            return np.asarray(o.explain_score(raw), np.float64)
        top = np.argmax(raw, axis=1) if top is None else top
        return raw[np.arange(len(raw)), top]

    return score


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    rho = [spearmanr(x, y).statistic for x, y in zip(a, b) if np.ptp(x) > 0 and np.ptp(y) > 0]
    return float(np.median(rho)) if rho else float("nan")


def _tree_shap(model, columns, players, output_index: int, top, interventional: bool = False):
    """shap.TreeExplainer's values per player [N, P] on the booster's raw score: its default game
    (tree_path_dependent, the file's game for model_type gbm), or with `interventional` that game on the
    file's 16 background rows."""
    import shap

    gbm = model.model.gbm
    layout = gbm.layout_
    x = layout.matrix(model.preprocessor.transform(columns))
    import lightgbm as lgb

    # a Booster from LightGBM's own text as training wrote it (not tk's checked copy): shap reads the trees
    # of the model the user trained
    booster = lgb.Booster(model_str=gbm.boosters_[output_index].model_str)
    if interventional:
        z = layout.matrix(model.preprocessor.transform(model.explain_columns))
        ex = shap.TreeExplainer(booster, data=z, feature_perturbation="interventional", model_output="raw")
    else:
        ex = shap.TreeExplainer(booster)
    sv = np.asarray(ex.shap_values(x, check_additivity=False))
    if sv.ndim == 3:  # [N, F, C] (shap ≥ 0.45) or [C, N, F]
        sv = sv[np.arange(len(x)), :, top] if sv.shape[0] == len(x) else sv[top, np.arange(len(x)), :]
    feature_player = {model.inputs[i].config.name: j for j, (_, idx) in enumerate(players) for i in idx}
    out = np.zeros((len(x), len(players)))
    for b in layout.blocks:
        out[:, feature_player[b.feature]] += sv[:, b.start : b.start + b.width].sum(axis=1)
    return out


def _permutation_shap(score, columns, background, names: list[str], top):
    """shap's permutation explainer on raw columns (strings as codes, decoded inside the model call)."""
    import shap

    codes, enc, benc = {}, [], []
    for c in names:
        v, b = columns[c], background[c]
        if v.dtype == object:
            values = np.unique(np.concatenate([v, b]).astype(str))
            codes[c] = values
            enc.append(np.searchsorted(values, v.astype(str)).astype(float))
            benc.append(np.searchsorted(values, b.astype(str)).astype(float))
        else:
            enc.append(v.astype(float))
            benc.append(b.astype(float))
    x, bx = np.stack(enc, 1), np.stack(benc, 1)
    rows = {"top": None}

    def f(m: np.ndarray) -> np.ndarray:
        cols = {
            c: codes[c][m[:, j].astype(int)].astype(object) if c in codes else m[:, j].astype(np.float32)
            for j, c in enumerate(names)
        }
        t = None if rows["top"] is None else np.full(len(m), rows["top"])
        return score(cols, t)

    out = []
    for i in range(len(x)):
        rows["top"] = None if top is None else int(top[i])
        ex = shap.PermutationExplainer(f, shap.maskers.Independent(bx, max_samples=len(bx)), seed=i)
        out.append(ex(x[i : i + 1], max_evals=2 * len(names) * 10 + 1, silent=True).values[0])
    return np.array(out)


def _deletion(score, columns, background, attributions, players, top, rng):
    """(mean |Δ score| removing the top-k inputs, the same for k random ones, k)."""
    n, p = attributions.shape
    k = max(1, p // 5)
    base = score(columns, top)
    reps = 20
    bidx = rng.choice(len(next(iter(background.values()))), size=reps, replace=False)

    def moved(chosen: list[np.ndarray]) -> float:
        deltas = []
        for r in range(reps):
            cols = {c: v.copy() for c, v in columns.items()}
            for i, js in enumerate(chosen):
                for j in js:
                    for c in players[j][1]:
                        cols[c][i] = background[c][bidx[r]]
            deltas.append(score(cols, top))
        return float(np.mean(np.abs(np.mean(deltas, axis=0) - base)))

    top_k = [np.argsort(-np.abs(a))[:k] for a in attributions]
    random_k = [rng.choice(p, size=k, replace=False) for _ in range(n)]
    return moved(top_k), moved(random_k), k


def measure(name: str, kind: str, work: Path, tree: Path, seed: int = 0) -> dict:
    import pandas as pd

    from bench.suite.datasets import DATASETS
    from bench.suite.runner import prepare, write_split
    from toolkit import train
    from toolkit.common import log
    from toolkit.export import explain
    from toolkit.features import columns as prepare_columns

    log.quiet = True
    spec = DATASETS[name]
    prep = prepare(name, work, tree)
    split_dir = write_split(name, seed, work)
    df = pd.read_csv(split_dir / "data.csv", low_memory=False)
    t0 = time.perf_counter()
    model = train(_config(prep, kind), df, output=split_dir / f"explain-{kind}")
    train_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    test = df[df["split"] == "test"].sample(n=min(ROWS, int((df["split"] == "test").sum())), random_state=seed)
    train_rows = df[df["split"] == "train"].sample(n=BACKGROUND, random_state=seed)
    columns = prepare_columns.input_columns(model.inputs, test, name)
    background = prepare_columns.input_columns(model.inputs, train_rows, name)
    p = model.predictor
    meta = p.metadata["tk.explain"]
    groups = explain.players(model)
    players = [(n, sorted({model.inputs[i].config.source for i in idx})) for n, idx in groups]
    output = p.output_features[0]
    t0 = time.perf_counter()
    why = p.explain(columns)
    explain_s = time.perf_counter() - t0
    ours = np.array([[r[output["name"]][n] for n, _ in players] for r in why])
    top = None
    if output["type"] == "category":
        top = np.argmax(p.run(columns)[f"{output['name']}::probabilities"], axis=1)
    score = _score_fn(model)
    t0 = time.perf_counter()
    sample = {c: v[:SHAP_ROWS] for c, v in columns.items()}
    names = [c for _, cs in players for c in cs]
    sv = _permutation_shap(score, sample, background, names, None if top is None else top[:SHAP_ROWS])
    col_player = {c: j for j, (_, cs) in enumerate(players) for c in cs}
    perm = np.zeros((len(sv), len(players)))
    for j, c in enumerate(names):
        perm[:, col_player[c]] += sv[:, j]
    rho_perm = _spearman(ours[: len(perm)], perm)  # shap's estimate of the interventional game (nn, ensemble)
    extra = {}
    if kind == "gbm":
        theirs, compared = _tree_shap(model, columns, groups, 0, top), len(ours)  # shap's default game
        reference = "shap.TreeExplainer (default: tree_path_dependent, LightGBM's pred_contrib)"
        extra["tree_game"] = meta.get("tree_game")
        extra["spearman_interventional"] = _spearman(ours, _tree_shap(model, columns, groups, 0, top, True))
        # the same numbers where every input is one matrix column (shap's values summed per input otherwise)
        extra["max_abs_diff_shap"] = float(np.max(np.abs(ours - theirs * explain._scale(model.outputs[0]))))
        extra["one_column_inputs"] = all(b.width == 1 for b in model.model.gbm.layout_.blocks)
        # the promise: Σ attributions = score(x) − baseline (the trees' mean score over their training rows)
        want = score(columns, top) - meta["baseline"][output["name"]] if top is None else None
        if want is not None:
            extra["sum_error_ours"] = float(np.max(np.abs(ours.sum(axis=1) - want)))
        extra["categorical_splits"] = bool(model.model.gbm.layout_.categorical)
        extra["model_bytes"] = (split_dir / f"explain-{kind}" / "model.onnx").stat().st_size
    else:
        theirs, compared = perm, len(perm)
        reference = "shap.PermutationExplainer (10 antithetic permutations, 50 training rows)"
    shap_s = time.perf_counter() - t0
    rho = _spearman(ours[:compared], theirs)
    top_d, random_d, k = _deletion(score, columns, background, ours, players, top, rng)
    return {
        "set": name,
        "kind": kind,
        "task": spec.task,
        "players": len(players),
        "method": meta["method"],
        "evaluations": meta["evaluations"],
        "spearman": rho,
        "rows_compared": compared,
        "reference": reference,
        "spearman_permutation": rho_perm,
        **extra,
        "deletion_top": top_d,
        "deletion_random": random_d,
        "k": k,
        "deletion_passed": top_d > random_d,
        "train_s": round(train_s, 1),
        "explain_s": round(explain_s, 3),
        "shap_s": round(shap_s, 1),
    }
