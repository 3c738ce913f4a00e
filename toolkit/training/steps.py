"""The steps every training run shares, whatever the model kind: fit the features (rank 0), make the
splits, fit each output's post step (temperature, threshold), score the splits."""

from __future__ import annotations

from toolkit.common import log
from toolkit.features import columns as prepare
from toolkit.features.base import OutputFeature
from toolkit.training import ddp

#: Raw rows of the validation split the export's parity check runs on.
PARITY_ROWS = 2_000

#: Train-split rows scored at the end (a seeded sample above it: the scores are estimates, the rows counted).
TRAIN_SCORE_ROWS = 50_000


def fit_on_rank0(cfg, source, *, inputs, outputs, ctx, rows: int, label: str):
    """Fit on rank 0, share the states; a TkError on rank 0 is raised on every rank."""
    from toolkit.training.fitting import fit_features

    def fit_all():
        summary = fit_features(cfg, source, inputs, outputs, rows, label)
        return summary, {
            "inputs": {f.config.name: f.state() for f in inputs},
            "outputs": {f.config.name: f.state() for f in outputs},
        }

    summary, states = ddp.on_rank0(ctx, fit_all)
    if not ctx.main:
        inputs = [type(f).from_state(f.config, states["inputs"][f.config.name]) for f in inputs]
        outputs = [type(f).from_state(f.config, states["outputs"][f.config.name]) for f in outputs]
    return inputs, outputs, summary


def make_splits(cfg, source, *, inputs, outputs, pre, ctx, rows: int, summary: dict, label: str) -> dict:
    """{"train" | "validation" | "test": a toolkit.training.batches split}."""
    from toolkit.training.batches import MemorySplit, StreamSplit

    if source.whole:
        by_index = MemorySplit.all_splits(
            source, cfg, inputs=inputs, outputs=outputs, pre=pre, label=label, device=ctx.device
        )
        return {name: by_index[k] for k, name in enumerate(prepare.SPLITS)}
    per_split = summary["rows_per_split"]
    return {
        name: StreamSplit(
            cfg,
            source,
            inputs=inputs,
            outputs=outputs,
            pre=pre,
            split=k,
            ctx=ctx,
            rows=rows,
            total_rows=per_split[name],
            label=label,
        )
        for k, name in enumerate(prepare.SPLITS)
    }


def checked_split(splits: dict):
    """The split that picks and checks: validation when it has rows, else train."""
    return splits["validation"] if splits["validation"].rows else splits["train"]


def final_scores(model, outputs, splits, ctx, val_answers=None, seed: int = 0) -> dict:
    """{split: {output: {metric: value}}} of the trained model; the validation split from the loop's
    answers of the best epoch when given (the same weights), a big in-memory train split on a sample."""
    from toolkit.training.evaluation import evaluate, score_predictions

    metrics = {}
    for name, split in splits.items():
        if not split.rows:
            continue
        if name == "validation" and val_answers is not None and val_answers[0] is not None:
            metrics[name] = score_predictions(outputs, *val_answers)
        elif name == "train" and split.rows > TRAIN_SCORE_ROWS and hasattr(split, "sample"):
            metrics[name] = evaluate(model, outputs, split.sample(TRAIN_SCORE_ROWS, seed), ctx)
        else:
            metrics[name] = evaluate(model, outputs, split, ctx)
    return metrics


def fit_post(model, outputs, split, ctx, answers=None) -> dict:
    """Each output's `fit_post` (temperature, threshold) on the validation rows' decoder outputs
    (`answers`: (preds, ys) already computed, else computed here): {output: what it reports}, only the
    outputs that fitted something. Every rank computes the same."""
    from toolkit.features.base import known_rows

    if not any(type(f).fit_post is not OutputFeature.fit_post for f in outputs):
        return {}
    preds, ys = answers if answers is not None and answers[0] is not None else split.predictions(model, ctx)
    found = {}
    for f, pred, y in zip(outputs, preds or [], ys or []):
        keep = known_rows(y)
        info = f.fit_post(y[keep], pred[keep]) if keep.any() else None
        if info:
            found[f.config.name] = info
            log.info(f"{f.config.name}: " + ", ".join(f"{k} {v:.4g}" for k, v in info.items()))
    return found


def never_predicted(outputs, preds) -> dict[str, list[str]]:
    """{output: classes no validation row is given} for classification outputs, with a warning naming each
    (a model that answers one class for every row must not ship silently). `preds`: raw outputs per output."""
    import numpy as np

    found = {}
    for f, raw in zip(outputs, preds or []):
        if f.classes is None or raw is None or not len(raw):
            continue
        labels = set(np.asarray(f.predict(raw)["label"]).tolist())
        missing = [c for c in f.classes if c not in labels]
        if missing:
            found[f.config.name] = missing
            log.warn(
                f"{f.config.name}: class(es) {', '.join(map(repr, missing[:5]))}"
                f"{' …' if len(missing) > 5 else ''} never predicted on the {len(raw)} validation rows; "
                "the model may answer too few classes (see tk report; a binary output's "
                "threshold: auto with threshold_metric: balanced_accuracy favours the rarer class most)"
            )
    return found
