"""check_combiner: a combiner config block held to tk's contract (see toolkit.testing)."""

from __future__ import annotations

import io
import warnings

from toolkit.testing.contract import TOLERANCE, ContractError, _call


def check_combiner(config, widths=(3, 1, 5)) -> None:
    """Hold a combiner config block (a pydantic instance whose class names `module`, or a built-in one) to
    the contract: `Combiner(widths, config)` has an int `d_out`, maps the list of [N, w_i] to [N, d_out]
    (finite), and its ONNX export equals torch within 1e-5. Raises ContractError naming what is wrong."""
    import numpy as np
    import torch

    from toolkit.nn.combiners import combiner_class

    label = f"combiner {getattr(config, 'type', config)!r}"
    try:
        cls = _call("importing its module", combiner_class, config)
        torch.manual_seed(0)
        module = _call(f"{getattr(cls, '__name__', cls)}(widths, config)", cls, list(widths), config)
        if not isinstance(module, torch.nn.Module) or not isinstance(getattr(module, "d_out", None), int):
            raise ContractError("must build a torch.nn.Module with an int attribute d_out")
        module.eval()
        xs = [torch.randn(7, w) for w in widths]
        with torch.no_grad():
            y = _call("the combiner on [N, w_i] inputs", module, xs)
        if tuple(y.shape) != (7, module.d_out) or not torch.isfinite(y).all():
            raise ContractError(f"gives {tuple(y.shape)} for 7 rows; expected finite [7, d_out] = [7, {module.d_out}]")

        class Flat(torch.nn.Module):  # the export takes tensors, not a list
            def __init__(self):
                super().__init__()
                self.inner = module

            def forward(self, *parts):
                return self.inner(list(parts))

        got = _onnx_run_many(Flat().eval(), xs, "the combiner")
        diff = float(np.max(np.abs(got - y.numpy()), initial=0.0))
        if not diff <= TOLERANCE:
            raise ContractError(f"its ONNX export differs from torch by {diff:.2e} (> {TOLERANCE:g}): parity broken")
    except ContractError as e:
        raise ContractError(f"{label}: {e}") from None


def _onnx_run_many(module, xs, what: str):
    import onnxruntime as ort
    import torch

    from toolkit.common.onnxgraph import OPSETS

    names = [f"x{i}" for i in range(len(xs))]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _call(
            f"exporting {what} to ONNX",
            torch.onnx.export,
            module,
            tuple(xs),
            buffer,
            input_names=names,
            output_names=["y"],
            dynamo=False,
            opset_version=OPSETS[""],
            dynamic_axes={n: {0: "N"} for n in names + ["y"]},
        )
    session = _call(
        f"{what}'s ONNX in onnxruntime", ort.InferenceSession, buffer.getvalue(), providers=["CPUExecutionProvider"]
    )
    return _call(f"{what}'s ONNX in onnxruntime", session.run, None, {n: x.numpy() for n, x in zip(names, xs)})[0]
