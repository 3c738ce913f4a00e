"""Training of model_type ensemble's members and their blend (toolkit.models.ensemble keeps the core,
the files and the ONNX).

    net   = the network on its own split (fit_single, model_type nn)
    trees = LightGBM on the same split (when the trees read any input)
    text  = TF-IDF + logistic regression on the text inputs' ids (toolkit.models.text_linear; with a
            text input and binary / category outputs), fitted here on the ensemble's own split

Without a text member the network and the trees are averaged 0.5 / 0.5, as before. With one, the
text member and the rest (network, or network + trees 0.5 / 0.5) are each scaled by their own
temperature on the validation rows, then the text member's share α is picked from ALPHA_GRID by the
validation rows' loss (each output's own loss, weighted by its loss_weight): the smallest α within
half a standard error of the lowest loss; see pick_alpha. The
weights applied to each member's raw output go to training_stats.json ("ensemble": "weights", and
"blend": α, the temperatures, the loss per α) and into model.safetensors' metadata.
"""

from __future__ import annotations

import time

import numpy as np

from toolkit.common import log

#: Weights of the text member tried (0: the network and the trees alone; 1: the text member alone).
ALPHA_GRID = tuple(round(a * 0.05, 2) for a in range(21))
#: α is the smallest share whose validation loss is within this many standard errors of the lowest.
SE_FACTOR = 0.5


def train_members(job, fit_single, *, trees: bool, text: bool):
    from toolkit.features.pregraph import Preprocessor
    from toolkit.models import kind_of
    from toolkit.models.ensemble_core import EnsembleCore, Member, gbm_member_config, member_inputs
    from toolkit.training import ddp, epochs
    from toolkit.training.devices import pick_device
    from toolkit.training.evaluation import evaluate
    from toolkit.training.job import Fitted
    from toolkit.training.steps import PARITY_ROWS, checked_split, fit_post, make_splits, never_predicted

    cfg, source = job.cfg, job.source
    started = time.perf_counter()
    nn_cfg = cfg.model_copy(update={"model_type": "nn"})
    net = fit_single(job.member(nn_cfg, keep_output=False, keep_on_epoch=True), kind_of("nn"))
    gbm = fit_single(job.member(gbm_member_config(cfg)), kind_of("gbm")) if trees else None
    extra = []
    if gbm is not None:
        by_name = {f.config.name: f for f in gbm.inputs}
        extra = [by_name[fc.name] for fc in member_inputs(cfg)[1]]
    inputs, outputs = net.inputs + extra, net.outputs
    names = [f.config.name for f in inputs]
    ctx = ddp.setup(pick_device(cfg.trainer.device))
    pre = Preprocessor(inputs, threads=cfg.trainer.threads)
    summary = net.stats["data"]
    splits = make_splits(
        cfg, source, inputs=inputs, outputs=outputs, pre=pre, ctx=ctx, rows=job.rows, summary=summary, label=job.label
    )
    val = checked_split(splits)
    base = {"nn": 0.5, "gbm": 0.5} if gbm is not None else {"nn": 1.0}
    text_first = text_final = None
    text_info = text_refit = None
    if text:
        text_first, text_final, text_info, text_refit = fit_text(cfg, net.inputs, outputs, splits)
    scored = EnsembleCore(
        net.scored_core, gbm.scored_core if gbm is not None else None, len(net.inputs), names, text_first, base
    )
    present = ["nn"] + (["gbm"] if gbm is not None else []) + (["text"] if text else [])
    members = {m: val.predictions(Member(scored, m), ctx) for m in present}
    watch_output, watch_metric = cfg.validation_metric()
    member_values = {m: watched(outputs, raw, ys, cfg) for m, (raw, ys) in members.items()}
    weights, alphas = base, None
    if text:
        weights, alphas = pick_alpha(outputs, {m: raw for m, (raw, _) in members.items()}, members["nn"][1], base)
        log.info(
            f"model_type ensemble: text member share α {alphas['alpha']:.2f} after temperatures "
            + ", ".join(f"{m} {t:.2f}" for m, t in alphas["temperature"].items())
            + " (validation loss by α: "
            + ", ".join(f"{a:.2f} {v:.4f}" for a, v in list(alphas["loss"].items())[::5])
            + ")"
        )
    scored.weights = dict(weights)
    core = EnsembleCore(
        net.core, gbm.core if gbm is not None else None, len(net.inputs), names, text_final or text_first, weights
    )
    answers = val.predictions(scored, ctx)
    post = fit_post(scored, outputs, val, ctx, answers)
    silent = never_predicted(outputs, answers[0])
    metrics = {name: evaluate(scored, outputs, split, ctx) for name, split in splits.items() if split.rows}
    value = epochs.watched_value(metrics.get("validation", metrics["train"]), outputs, cfg)
    history = epochs.History(
        epochs=net.stats["epochs"],
        best_epoch=net.stats["best_epoch"],
        best_value=value,
        stopped_early=net.stats["stopped_early"],
        seconds=net.stats["train_seconds"]
        + (gbm.stats["train_seconds"] if gbm is not None else 0.0)
        + (text_info["seconds"] + (text_refit or {}).get("seconds", 0.0) if text else 0.0),
    )
    stats = epochs.training_stats(cfg, history, metrics, summary, started)
    stats["ensemble"] = {
        "validation_metric": f"{watch_output}.{watch_metric}",
        **member_values,
        "ensemble": value,
    }
    if text:  # without a text member the stats are as before (the network and the trees: 0.5 / 0.5)
        stats["ensemble"] |= {"weights": weights, "blend": alphas, "text_member": text_info}
    if gbm is not None:
        stats["gbm"] = gbm.stats["gbm"]
    refits = {"nn": net.stats.get("refit"), "gbm": gbm.stats.get("refit") if gbm is not None else None}
    if text_refit is not None:
        refits["text"] = text_refit
    if any(refits.values()):
        stats["refit"] = {k: v for k, v in refits.items() if k != "gbm" or gbm is not None}
    if post:
        stats["calibration"] = post
    if silent:
        stats["never_predicted"] = silent
    log.info(
        f"model_type ensemble: validation {watch_output}.{watch_metric} "
        + ", ".join(f"{m} {v:.4f}" for m, v in member_values.items())
        + f", blend {value:.4f} (weights "
        + ", ".join(f"{m} {w:.3f}" for m, w in weights.items())
        + ")"
    )
    return Fitted(
        cfg, inputs, outputs, core, stats, parity_columns=val.raw_sample(PARITY_ROWS) or None, first_core=scored
    )


def fit_text(cfg, net_inputs, outputs, splits):
    """(first member, refit member or None, fit info, refit info or None) on the ensemble's split."""
    from toolkit.models import text_linear as tl

    index = tl.text_inputs(net_inputs)
    features = [net_inputs[i] for i in index]
    keys = [f.config.name for f in features]

    def part(split):
        if not split.rows:
            return [np.zeros((0, 1), dtype=np.int64) for _ in keys], []
        x, ys = split.arrays(net_inputs)
        return [x[k] for k in keys], ys

    train, validation = part(splits["train"]), part(splits["validation"])
    first, info = tl.fit(features, outputs, train, validation)
    log.info(
        "text member: TF-IDF + logistic regression, C "
        + ", ".join(f"{c['C']:g}" for c in info["outputs"])
        + f" ({info['seconds']:.1f} s)"
    )
    if not cfg.trainer.refit or not splits["validation"].rows:
        return first, None, info, None
    rows = (
        [np.concatenate([a, b]) for a, b in zip(train[0], validation[0])],
        [np.concatenate([a, b]) for a, b in zip(train[1], validation[1])],
    )
    final, refit_info = tl.refit(features, outputs, rows, info)
    return first, final, info, refit_info


def watched(outputs, raw, ys, cfg) -> float:
    """The validation metric (cfg.validation_metric) of one member's raw outputs."""
    from toolkit.training import epochs
    from toolkit.training.evaluation import score_predictions

    return epochs.watched_value(score_predictions(outputs, raw, ys), outputs, cfg)


def pick_alpha(outputs, raw: dict, ys, base: dict) -> tuple[dict, dict]:
    """(weights, {"alpha": α, "best": α of the lowest loss, "temperature": {"rest": T, "text": T},
    "loss": {α: validation loss}}).

    The text member and the rest (the other members in their `base` blend) are first each scaled by
    their own temperature on the validation rows (so that neither wins the blend by being sharper);
    then the loss of (1 − α) · rest / T_rest + α · text / T_text on the validation rows (Σ loss_weight ·
    each output's loss) is computed for every α of ALPHA_GRID. α is the smallest one whose loss is
    within SE_FACTOR standard errors of the lowest (the standard error of the rows' paired loss
    differences, unweighted): a text member that helps only by noise on few validation rows gets no
    share. The weights returned are the ones applied to each member's raw output (base share ·
    (1 − α) / T_rest, α / T_text), so they need not sum to 1. One temperature per side: the first
    output's (the most common case has one output)."""
    from toolkit.models.ensemble_core import blend
    from toolkit.scoring.calibration import fit_temperature
    from toolkit.training.evaluation import score_predictions

    rest = list(blend(raw, base))
    y0 = np.asarray(ys[0])
    known = ~np.isnan(y0)
    scale = {
        "rest": fit_temperature(rest[0][known], y0[known]),
        "text": fit_temperature(raw["text"][0][known], y0[known]),
    }

    def weights(a: float) -> dict:
        return {m: s * (1 - a) / scale["rest"] for m, s in base.items()} | {"text": a / scale["text"]}

    losses, rows = {}, {}
    for a in ALPHA_GRID:
        preds = list(blend(raw, weights(a)))
        scores = score_predictions(outputs, preds, ys, metrics_for=set())
        losses[a] = float(sum(o.config.loss_weight * scores[o.config.name]["loss"] for o in outputs))
        rows[a] = sum(o.config.loss_weight * row_losses(p, y) for o, p, y in zip(outputs, preds, ys))
    finite = {a: v for a, v in losses.items() if np.isfinite(v)}
    if not finite:
        return weights(0.0), {"alpha": 0.0, "best": None, "temperature": scale, "loss": losses}
    best = min(finite, key=lambda a: (finite[a], a))
    chosen = best
    for a in sorted(finite):
        d = rows[a] - rows[best]
        if len(d) < 2 or finite[a] - finite[best] <= SE_FACTOR * float(np.std(d, ddof=1)) / np.sqrt(len(d)):
            chosen = a
            break
    return weights(chosen), {"alpha": chosen, "best": best, "temperature": scale, "loss": losses}


def row_losses(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's unweighted loss (binary cross-entropy on a logit, cross-entropy on logits); 0 where
    the target is missing."""
    y = np.asarray(y, dtype=np.float64)
    known = ~np.isnan(y)
    z = np.asarray(pred, dtype=np.float64)[known]
    out = np.zeros(len(y))
    if z.ndim == 1:
        t = y[known]
        out[known] = np.logaddexp(0.0, z) - t * z
    else:
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        out[known] = lse - z[np.arange(len(z)), y[known].astype(int)]
    return out
