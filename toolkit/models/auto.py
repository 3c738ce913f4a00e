"""model_type auto: the network and the GBM on the same split, the better on the validation metric kept.

The model directory holds the chosen member's config (model_type resolved to nn
or gbm), so it loads and exports as that kind. No input the trees can read, or
several processes: the network alone.
"""

from __future__ import annotations

import time

from toolkit.common import log
from toolkit.models.base import ModelKind


class AutoKind(ModelKind):
    """Train both kinds, keep the one that validates better (training_stats.json's "auto" says why)."""

    name = "auto"

    def train(self, job, fit_single):
        from toolkit.models import kind_of
        from toolkit.models.ensemble import gbm_member_config, trees_can_read_any
        from toolkit.scoring.metrics import better
        from toolkit.training import ddp

        cfg = job.cfg
        nn_cfg = cfg.model_copy(update={"model_type": "nn"})
        if ddp.world_size() > 1 or not trees_can_read_any(cfg):
            return fit_single(job.member(nn_cfg, keep_output=True, keep_on_epoch=True), kind_of("nn"))
        if job.resume:
            log.warn("--resume: model_type auto keeps no checkpoint; training both models again")
        started = time.perf_counter()
        found = {
            "nn": fit_single(job.member(nn_cfg, keep_on_epoch=True), kind_of("nn")),
            "gbm": fit_single(job.member(gbm_member_config(cfg, rename=False)), kind_of("gbm")),
        }
        watch = ".".join(cfg.validation_metric())
        values = {k: m.stats["best_value"] for k, m in found.items()}
        chosen = "gbm" if better(cfg.validation_metric()[1], values["gbm"], values["nn"]) else "nn"
        result = found[chosen]
        result.stats["auto"] = {
            "validation_metric": watch,
            "nn": values["nn"],
            "gbm": values["gbm"],
            "chosen": chosen,
            "nn_seconds": found["nn"].stats["total_seconds"],
            "gbm_seconds": found["gbm"].stats["total_seconds"],
        }
        result.stats["total_seconds"] = time.perf_counter() - started
        log.info(f"model_type auto: validation {watch} nn {values['nn']:.4f}, gbm {values['gbm']:.4f} → {chosen}")
        return result
