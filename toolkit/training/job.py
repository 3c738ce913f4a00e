"""What one training run is asked to do, and what it hands back (small records, no behaviour).

job = TrainJob(cfg, source, label, output=Path("runs/x"))
fitted = kind.train(job, fit_single)      # toolkit.models: a ModelKind; fit_single: training.single
fitted.core(*pre) -> raw outputs          # the model behind the pre graph, whatever its kind
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from toolkit.data.readers import CHUNK_ROWS


@dataclass(frozen=True)
class TrainJob:
    """One request to train: the config, where the rows come from, and where the model goes.

    `output`: the model directory (None: train only, e.g. a member of an ensemble); a checkpoint
    is kept beside it each epoch and `resume` continues from it; `on_epoch(record)` sees each
    epoch's record (hyperopt pruning); `rows`: rows per chunk of streamed data.
    """

    cfg: Any
    source: Any
    label: str
    output: Path | None = None
    resume: bool = False
    on_epoch: Callable[[dict], None] | None = None
    rows: int = CHUNK_ROWS

    def member(self, cfg, *, keep_output: bool = False, keep_on_epoch: bool = False) -> "TrainJob":
        """The same rows for another config (a member of a composite kind): no model directory and
        no resume unless `keep_output`, no epoch callback unless `keep_on_epoch`."""
        return replace(
            self,
            cfg=cfg,
            output=self.output if keep_output else None,
            resume=self.resume and keep_output,
            on_epoch=self.on_epoch if keep_on_epoch else None,
        )


@dataclass
class Fitted:
    """A trained model before it is wrapped and saved: its features (fitted), its core, its stats.

    `core`: called on every input's `<feature>::pre` tensor, returns the raw outputs (the torch
    network, a GbmCore, an EnsembleCore, …). `parity_columns`: raw rows the export is checked on.
    `writes`: whether this process writes the model directory (rank 0 of several). `checkpoint_dir`:
    the checkpoints to remove once the directory is written. `first_core`: the core trained on the
    train split alone when `core` was refit on train + validation (trainer.refit; the metrics are
    its), else `core` itself.
    """

    config: Any
    inputs: list
    outputs: list
    core: Any
    stats: dict
    parity_columns: dict | None = None
    writes: bool = True
    checkpoint_dir: Path | None = None
    first_core: Any = None

    @property
    def scored_core(self):
        """The core whose answers on validation rows are honest: the first one, before any refit."""
        return self.first_core if self.first_core is not None else self.core
