"""Export a trained model as ONE ONNX file: preprocessing + model + postprocessing.

    raw columns [N] ──pre graph──► <feature>::pre ──torch model──► <output>::raw
                    ──post graph──► <output>::label, <output>::probabilities, <output>::value

The pre graph is the very graph training ran (toolkit.preprocess.build_graph);
the model goes through `torch.onnx.export` with a dynamic batch axis; the post
graph comes from each output feature's `to_onnx_post`. The three are joined
with `onnx.compose.merge_models`. Every export is parity-checked (see parity.py).
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import onnx
from onnx import compose, helper

from toolkit.errors import TkError
from toolkit.onnxgraph import IR_VERSION, OPSETS, GraphBuilder
from toolkit.preprocess import build_graph, pre_name

EXPORTERS = ("torchscript", "dynamo")
MODEL_PREFIX = "model/"


def raw_name(output) -> str:
    return f"{output.config.name}::raw"


def example_inputs(trained, rows: int = 2):
    """Model inputs for tracing: the pre graph run on `rows` all-missing rows."""
    import torch

    from toolkit.features.base import RAW_FLOAT

    cols = {c: (np.full(rows, np.nan, np.float32) if t == RAW_FLOAT else np.full(rows, "", object))
            for c, t in trained.preprocessor.columns.items()}
    pre = trained.preprocessor.transform(cols)
    return tuple(torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in trained.inputs)


def export_core(trained, exporter: str = "torchscript", opset: int = OPSETS[""]) -> onnx.ModelProto:
    """The torch model alone: `<feature>::pre` inputs → `<output>::raw` outputs, batch axis dynamic."""
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
                model, xs, input_names=names_in, output_names=names_out, dynamo=True,
                dynamic_shapes=(tuple({0: batch} for _ in xs),), opset_version=opset,
                external_data=False, verbose=False)
            core = program.model_proto
        else:  # the TorchScript exporter: 40x faster to run here, same graph for our modules
            buffer = io.BytesIO()
            torch.onnx.export(model, xs, buffer, input_names=names_in, output_names=names_out,
                              dynamo=False, opset_version=opset,
                              dynamic_axes={n: {0: "N"} for n in names_in + names_out})
            core = onnx.load_from_string(buffer.getvalue())
    core.ir_version = IR_VERSION
    return core


def build_post(outputs) -> tuple[onnx.ModelProto, dict[str, tuple[str, list]]]:
    """`<output>::raw` → the outputs' labels, probabilities and values."""
    g = GraphBuilder("tk_postprocess")
    specs: dict[str, tuple[str, list]] = {}
    for o in outputs:
        raw = g.input(raw_name(o), "float32", None)
        specs |= o.to_onnx_post(g, raw)
    for name, (dtype, shape) in specs.items():
        g.output(name, dtype, shape)
    return g.build(doc="tk postprocessing"), specs


def _join(first: onnx.ModelProto, second: onnx.ModelProto, io_map, outputs=None, prefix2=None):
    merged = compose.merge_models(first, second, io_map=io_map, outputs=outputs, prefix2=prefix2)
    seen, unique = set(), []
    for op in merged.opset_import:  # merge_models repeats opset entries
        if op.domain not in seen:
            seen.add(op.domain)
            unique.append(op)
    del merged.opset_import[:]
    merged.opset_import.extend(unique)
    return merged


def build_full(trained, exporter: str = "torchscript") -> onnx.ModelProto:
    """The single self-contained file: raw columns in; labels and probabilities out."""
    pre = build_graph(trained.inputs)
    post, specs = build_post(trained.outputs)
    kind = trained.config.model_type
    if kind in ("gbm", "ensemble"):  # the trees: ai.onnx.ml 5 in all three graphs
        from toolkit.gbm import set_ml_opset

        pre, post = set_ml_opset(pre), set_ml_opset(post)
    if kind == "gbm":
        core = trained.model.to_onnx()
    elif kind == "ensemble":
        from types import SimpleNamespace

        from toolkit import ensemble

        n_net = len(trained.config.input_features)  # the network's inputs come first
        net = SimpleNamespace(model=trained.model.net, inputs=trained.inputs[:n_net], outputs=trained.outputs,
                              preprocessor=trained.preprocessor)
        core = ensemble.core_onnx(export_core(net, exporter), trained.model.gbm.to_onnx(), trained.outputs, raw_name)
    else:
        core = export_core(trained, exporter)
    for op in core.opset_import:  # the pre graph must import every domain the core uses
        if op.domain not in {o.domain for o in pre.opset_import}:
            pre.opset_import.append(helper.make_opsetid(op.domain, op.version))
    pre_core = _join(pre, core, [(pre_name(f), pre_name(f)) for f in trained.inputs],
                     prefix2=MODEL_PREFIX)
    full = _join(pre_core, post, [(MODEL_PREFIX + raw_name(o), raw_name(o)) for o in trained.outputs],
                 outputs=list(specs))
    full.graph.name = "tk"
    full.producer_name = "tk"
    _name_unnamed_nodes(full.graph)
    set_metadata(full, trained, specs)
    return full


def _name_unnamed_nodes(graph) -> None:
    used = {n.name for n in graph.node if n.name}
    for i, node in enumerate(graph.node):
        if not node.name:
            name = f"{MODEL_PREFIX}{node.op_type}_{i}"
            while name in used:
                name += "_"
            node.name = name
            used.add(name)


def set_metadata(model: onnx.ModelProto, trained, specs) -> None:
    """metadata_props: tk version, signature, class labels, validation metrics."""
    from toolkit.version import __version__
    from toolkit.prepare import describe_raw

    meta = {
        "tk.version": __version__,
        "tk.inputs": json.dumps(describe_raw(trained.inputs)),
        "tk.outputs": json.dumps([{"name": n, "dtype": d, "shape": s} for n, (d, s) in specs.items()]),
        "tk.features": json.dumps({
            "inputs": [{"name": f.config.name, "type": f.type, "column": f.config.source,
                        **({"list": f.list_column.metadata()} if f.list_column is not None else {})}
                       for f in trained.inputs],
            "outputs": [{"name": o.config.name, "type": o.type, "column": o.config.source,
                         **({"classes": list(o.classes)} if o.classes is not None else {})}
                        for o in trained.outputs]}),
        "tk.metrics": json.dumps(trained.stats.get("metrics", {}).get("validation", {})),
    }
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))


def quantize_int8(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxruntime dynamic quantization (weights int8) of the whole file."""
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, src)
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
        return onnx.load(dst)


def session(model: onnx.ModelProto, threads: int | None = 1):
    import onnxruntime as ort

    from toolkit.preprocess import session_options

    return ort.InferenceSession(model.SerializeToString(), session_options(threads),
                                providers=["CPUExecutionProvider"])


def export(trained, exporter: str = "torchscript", columns: dict | None = None,
           tolerance: float = 1e-5):
    """Build the full ONNX model and prove parity; returns (ModelProto, ParityReport)."""
    from toolkit.export import parity

    full = build_full(trained, exporter)
    onnx.checker.check_model(full)
    report = parity.assert_parity(trained, session(full), columns, tolerance)
    return full, report

