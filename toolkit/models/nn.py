"""model_type nn: encoders → combiner → decoders (torch), trained by the one loop, exported by torch.onnx.

    raw columns ─► pre graph ─► <feature>::pre ─► TkModel (toolkit.nn.network) ─► <output>::raw ─► post

The weights are model.safetensors; the core's ONNX comes from `torch.onnx.export`
with a dynamic batch axis (the TorchScript exporter by default, dynamo on request).
"""

from __future__ import annotations

import io
import warnings

import numpy as np

from toolkit.common.onnxgraph import IR_VERSION, OPSETS
from toolkit.errors import TkError
from toolkit.features.pregraph import pre_name
from toolkit.models.base import ModelKind, raw_name

WEIGHTS = "model.safetensors"
EXPORTERS = ("torchscript", "dynamo")


class NnKind(ModelKind):
    """The neural model: every input type, every output type, streamed data and DDP."""

    name = "nn"
    file_names = (WEIGHTS,)

    def fit_core(self, job, inputs, outputs, splits, ctx, *, checkpoint_dir, config_fp):
        import torch

        from toolkit.nn.network import TkModel
        from toolkit.training import loop
        from toolkit.training.devices import thread_count

        model = TkModel(inputs, outputs, job.cfg.combiner)
        torch.set_num_threads(thread_count(job.cfg.trainer.threads, model))
        history = loop.fit(
            model,
            outputs,
            splits["train"],
            splits["validation"],
            job.cfg,
            ctx,
            checkpoint_dir=checkpoint_dir,
            resume=job.resume,
            config_fp=config_fp,
            on_epoch=job.on_epoch,
        )
        return model, history

    def refit_core(self, job, inputs, outputs, rows, ctx, *, first, history):
        import torch

        from toolkit.nn.network import TkModel
        from toolkit.training import loop

        torch.manual_seed(job.cfg.trainer.seed)  # seeded as the first run is
        model = TkModel(inputs, outputs, job.cfg.combiner)
        return model, loop.refit(model, outputs, rows, job.cfg, ctx, history)

    def core_files(self, core) -> dict[str, bytes]:
        from safetensors.torch import save as save_weights

        return {WEIGHTS: save_weights({k: v.contiguous() for k, v in core.state_dict().items()})}

    def load_core(self, cfg, inputs, outputs, files: dict[str, bytes]):
        from safetensors.torch import load as load_weights

        from toolkit.nn.network import TkModel

        model = TkModel(inputs, outputs, cfg.combiner)
        try:
            model.load_state_dict(load_weights(files[WEIGHTS]))
        except (RuntimeError, KeyError) as e:
            raise TkError(f"{WEIGHTS}: weights do not fit the config: {str(e).splitlines()[0]}") from None
        return model.eval()

    def onnx_core(self, trained, exporter: str):
        return export_core(trained, exporter)


def example_inputs(trained, rows: int = 2):
    """Model inputs for tracing: the pre graph run on `rows` all-missing rows."""
    import torch

    from toolkit.data.raw_types import RAW_FLOAT

    cols = {
        c: (np.full(rows, np.nan, np.float32) if t == RAW_FLOAT else np.full(rows, "", object))
        for c, t in trained.preprocessor.columns.items()
    }
    pre = trained.preprocessor.transform(cols)
    return tuple(torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in trained.inputs)


def export_core(trained, exporter: str = "torchscript", opset: int = OPSETS[""]):
    """The torch model alone: `<feature>::pre` inputs → `<output>::raw` outputs, batch axis dynamic.
    `trained`: anything with .model (the torch module), .inputs, .outputs and .preprocessor."""
    import onnx
    import torch

    if exporter not in EXPORTERS:
        raise TkError(f"--exporter: {exporter!r} is not one of {', '.join(EXPORTERS)}")
    model = trained.model.eval()
    xs = example_inputs(trained)
    names_in = [pre_name(f) for f in trained.inputs]
    names_out = [raw_name(o) for o in trained.outputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            batch = torch.export.Dim("batch")
            program = torch.onnx.export(
                model,
                xs,
                input_names=names_in,
                output_names=names_out,
                dynamo=True,
                dynamic_shapes=(tuple({0: batch} for _ in xs),),
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
            core = program.model_proto
        else:  # the TorchScript exporter: 40x faster to run here, same graph for our modules
            buffer = io.BytesIO()
            torch.onnx.export(
                model,
                xs,
                buffer,
                input_names=names_in,
                output_names=names_out,
                dynamo=False,
                opset_version=opset,
                dynamic_axes={n: {0: "N"} for n in names_in + names_out},
            )
            core = onnx.load_from_string(buffer.getvalue())
    core.ir_version = IR_VERSION
    return core
