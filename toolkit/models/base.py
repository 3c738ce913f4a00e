"""ModelKind: everything tk needs to know about one `model_type`, in one class.

A kind answers every question asked about it, so nobody else branches on
`model_type` (the config's validation aside):

    kind.make_features(cfg)                 unfitted input and output features (its extra inputs after the config's)
    kind.refusal(feature_type)              why its core cannot read an input type, or None
    kind.train(job, fit_single)             a Fitted model; single kinds let fit_single call fit_core,
                                            composite kinds (ensemble, auto) combine members
    kind.fit_core(job, inputs, outputs, splits, ctx, ...)   (core, History): the core trained on the splits
    kind.refit_core(job, inputs, outputs, rows, ctx, …)  the core again on train + validation rows
    kind.core_stats(core)                   extra training_stats entries ({} by default)
    kind.core_files(core) / kind.load_core(cfg, inputs, outputs, files)   the bytes in the model directory
    kind.file_names                         which files of the model directory hold the core
    kind.onnx_core(trained, exporter)       the core as ONNX: `<feature>::pre` in, `<output>::raw` out
    kind.explain_split(trained, exporter)   the core's terms for explanations: trees (exact) and the rest (sampled)

A core is called like the torch network: `core(*pre)` on every input's pre
tensor returns one raw tensor per output (binary logit [N], category logits
[N, C], number z-scored value [N]), and has `eval()` and `to(device)`.
"""

from __future__ import annotations

from typing import ClassVar

from toolkit.errors import TkError


class ModelKind:
    """The base of every model kind; a subclass sets `name` and overrides what differs."""

    name: ClassVar[str] = ""
    #: Files of the model directory that hold the core (read by toolkit.api.load).
    file_names: ClassVar[tuple[str, ...]] = ()

    # ---- inputs -----------------------------------------------------------------------------------

    def refusal(self, feature_type: str) -> str | None:
        """Why this kind's core cannot read inputs of `feature_type`, or None when it can."""
        return None

    def extra_inputs(self, cfg) -> list:
        """Input feature configs the core reads besides the config's own (after them, in order)."""
        return []

    def make_features(self, cfg):
        """Unfitted (inputs, outputs) feature objects: the config's inputs, then `extra_inputs`."""
        from toolkit.features import columns

        for i, fc in enumerate(cfg.input_features):
            reason = self.refusal(fc.type)
            if reason:
                raise TkError(
                    f"input_features[{i}] ({fc.name!r}, type {fc.type}): model_type {self.name} cannot use it: {reason}"
                )
        return columns.make_features(cfg, self.extra_inputs(cfg))

    # ---- training ---------------------------------------------------------------------------------

    def train(self, job, fit_single):
        """A toolkit.training.job.Fitted for `job`. `fit_single(job, kind)` trains one core on one split;
        a composite kind calls it once per member and combines them."""
        return fit_single(job, self)

    def fit_core(self, job, inputs, outputs, splits, ctx, *, checkpoint_dir, config_fp):
        """(core, toolkit.training.epochs.History): the core trained on splits["train"], picked on
        splits["validation"]."""
        raise NotImplementedError(f"model_type {self.name}: fit_core")

    def refit_core(self, job, inputs, outputs, rows, ctx, *, first, history):
        """(core, what training_stats says of it): a fresh core trained on `rows` (train + validation, one
        split) at the size the `first` core's fit found (its `history`), or None when this kind keeps
        its first core (trainer.refit)."""
        return None

    def core_stats(self, core) -> dict:
        """Entries this kind adds to training_stats.json."""
        return {}

    # ---- the model directory and the ONNX file ----------------------------------------------------

    def core_files(self, core) -> dict[str, bytes]:
        """{file name: bytes} that hold the trained core (names from `file_names`)."""
        raise NotImplementedError(f"model_type {self.name}: core_files")

    def load_core(self, cfg, inputs, outputs, files: dict[str, bytes]):
        """The core back from `core_files`' bytes."""
        raise NotImplementedError(f"model_type {self.name}: load_core")

    def onnx_core(self, trained, exporter: str):
        """onnx.ModelProto: `<feature>::pre` inputs → `<output>::raw` outputs, batch axis dynamic."""
        raise NotImplementedError(f"model_type {self.name}: onnx_core")

    def explain_split(self, trained, exporter: str) -> tuple[list, tuple | None]:
        """How explanations (toolkit.export.explain) split the core's raw outputs into terms:
        ([(weight, GbmModel)]: boosters whose raw outputs times weight are terms, explained exactly, rest):
        rest is None when those terms are the whole core, else (ONNX core or None for `onnx_core`'s, a core
        called like the network) giving the sum of the other terms, explained by the sampled method."""
        return [], (None, trained.model)


def raw_name(output) -> str:
    """The core's output for one output feature (the post graph's input): `<output>::raw`."""
    return f"{output.config.name}::raw"
