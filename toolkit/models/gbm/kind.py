"""model_type gbm: LightGBM boosters on the pre graph's outputs (this package), as a model kind.

The trees read what each input feature's `tree_input` says (numeric columns, one
categorical id column) and refuse the others (text: token ids are positions);
the boosters are gbm.json in the model directory; the core's ONNX is one
TreeEnsemble per output (ai.onnx.ml 5).
"""

from __future__ import annotations

import json
import math
import os
import time

from toolkit.common import log
from toolkit.errors import TkError
from toolkit.models.base import ModelKind

GBM = "gbm.json"  # the boosters: LightGBM's model strings inside JSON


def gbm_max_rows() -> int:
    """Rows of one split a gbm model trains on at most (TK_GBM_MAX_ROWS, default 20 million)."""
    return int(os.environ.get("TK_GBM_MAX_ROWS", 20_000_000))


def tree_refusal(feature_type: str) -> str | None:
    """Why trees cannot read inputs of `feature_type` (the feature type says it), or None."""
    from toolkit.features import INPUT_FEATURES

    cls = INPUT_FEATURES[feature_type]
    return None if cls.tree_input is not None else cls.tree_refusal or "no tree view of this input"


class GbmKind(ModelKind):
    """Gradient-boosted trees (LightGBM), one booster per output, in one process, data in memory."""

    name = "gbm"
    file_names = (GBM,)

    def refusal(self, feature_type: str) -> str | None:
        return tree_refusal(feature_type)

    def fit_core(self, job, inputs, outputs, splits, ctx, *, checkpoint_dir, config_fp):
        """LightGBM boosters on the pre graph's outputs of the train split, early stopping on the
        validation split. Returns (GbmCore, History of one record)."""
        from toolkit.models.gbm import GbmModel, Layout
        from toolkit.models.gbm.core import GbmCore
        from toolkit.training.epochs import History, watched_value
        from toolkit.training.evaluation import evaluate
        from toolkit.training.steps import checked_split

        cfg = job.cfg
        if ctx.world > 1:
            raise TkError("model_type gbm trains in one process: drop --nproc / torchrun")
        start = time.perf_counter()
        limit = gbm_max_rows()
        pre_train, ys_train = splits["train"].arrays(inputs, limit)
        pre_val, ys_val = splits["validation"].arrays(inputs, limit) if splits["validation"].rows else ({}, None)
        layout = Layout.of(inputs, pre_train)
        gbm = GbmModel(cfg.gbm).fit(
            layout.matrix(pre_train),
            ys_train,
            layout.matrix(pre_val) if pre_val else None,
            ys_val,
            outputs=outputs,
            layout=layout,
            validation_metric=cfg.validation_metric(),
        )
        core = GbmCore(gbm, [f.config.name for f in inputs])
        watch_output, watch_metric = cfg.validation_metric()
        val_metrics = evaluate(
            core, outputs, checked_split(splits), ctx, metrics_for=None if watch_metric != "loss" else set()
        )
        value = watched_value(val_metrics, outputs, cfg)
        seconds = time.perf_counter() - start
        rounds = max((b["rounds"] for b in gbm.stats.values()), default=0)
        record = {
            "epoch": 1,
            "train_loss": math.nan,
            "rows": splits["train"].rows,
            "validation": val_metrics,
            "lr": cfg.gbm.learning_rate,
            "seconds": seconds,
            "rounds": rounds,
        }
        log.info(
            f"gbm: {len(gbm.stats)} booster(s), {rounds} rounds; validation {watch_output}.{watch_metric} "
            f"{value:.4f} ({seconds:.1f} s)"
        )
        return core, History(epochs=[record], best_epoch=1, best_value=value, seconds=seconds)

    def refit_core(self, job, inputs, outputs, rows, ctx, *, first, history):
        from toolkit.models.gbm import GbmModel, Layout
        from toolkit.models.gbm.core import GbmCore

        start = time.perf_counter()
        pre, ys = rows.arrays(inputs, gbm_max_rows())
        layout = Layout.of(inputs, pre)
        rounds = [b.info["rounds"] for b in first.gbm.boosters_]
        gbm = GbmModel(job.cfg.gbm).fit(
            layout.matrix(pre), ys, None, None, outputs=outputs, layout=layout, rounds=rounds
        )
        return (
            GbmCore(gbm, [f.config.name for f in inputs]),
            {"rows": int(rows.rows), "rounds": rounds, "seconds": round(time.perf_counter() - start, 3)},
        )

    def core_stats(self, core) -> dict:
        return {"gbm": {"boosters": core.gbm.stats, "gain": core.gbm.importances()}}

    def core_files(self, core) -> dict[str, bytes]:
        return {GBM: json.dumps(core.gbm.state()).encode()}

    def load_core(self, cfg, inputs, outputs, files: dict[str, bytes]):
        return load_trees(cfg, files[GBM], [f.config.name for f in inputs])

    def onnx_core(self, trained, exporter: str):
        return trained.model.to_onnx()

    def explain_split(self, trained, exporter: str) -> tuple[list, tuple | None]:
        return [(1.0, trained.model.gbm)], None


def load_trees(cfg, data: bytes, input_names: list[str]):
    """A GbmCore from gbm.json's bytes."""
    from toolkit.models.gbm import GbmModel
    from toolkit.models.gbm.core import GbmCore

    try:  # every tree is checked in Python before LightGBM reads it (toolkit.models.gbm.tree_check)
        gbm = GbmModel.from_state(cfg.gbm, json.loads(data), where=GBM)
    except TkError:
        raise
    except (ValueError, KeyError, TypeError, RecursionError) as e:  # json: not JSON, or nested past the stack
        raise TkError(f"{GBM}: damaged: {_first_line(e)}") from None
    except Exception as e:  # lightgbm.basic.LightGBMError on a checked tree: still one line
        if type(e).__name__ != "LightGBMError":
            raise
        raise TkError(f"{GBM}: LightGBM cannot load it: {_first_line(e)}") from None
    return GbmCore(gbm, input_names)


def _first_line(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0]
