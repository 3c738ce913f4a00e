"""Export a trained model as ONE ONNX file: preprocessing + model + postprocessing.

    raw columns [N] ──pre graph──► <feature>::pre ──torch model──► <output>::raw
                    ──post graph──► <output>::label, <output>::probabilities, <output>::value
    tk::explain (false; on in an explaining copy) ──► If ──► <output>::attributions [N, P] (explain.py)

The pre graph is the very graph training ran (toolkit.features.pregraph.build_graph);
the model goes through `torch.onnx.export` with a dynamic batch axis; the post
graph comes from each output feature's `to_onnx_post`. The three are joined
with `onnx.compose.merge_models`. Every export is parity-checked (see parity.py).
"""

from __future__ import annotations

import json

import onnx
from onnx import compose, helper

from toolkit.common.onnxgraph import OPSETS, GraphBuilder, set_opset
from toolkit.export import explain
from toolkit.features.pregraph import build_graph, pre_name
from toolkit.models.base import raw_name
from toolkit.models.nn import EXPORTERS, export_core  # noqa: F401  (re-exported: the torch core alone)

MODEL_PREFIX = "model/"


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


def build_full(
    trained, exporter: str = "torchscript", background: dict | None = None, explain_branch: bool = True
) -> onnx.ModelProto:
    """The single self-contained file: raw columns in; labels and probabilities out, attributions on request.
    `background`: raw rows the attributions are measured from (None: one row of missing values)."""
    pre = build_graph(trained.inputs)
    post, specs = build_post(trained.outputs)
    core = trained.kind.onnx_core(trained, exporter)
    ml = {op.domain: op.version for op in core.opset_import}.get("ai.onnx.ml", OPSETS["ai.onnx.ml"])
    if ml > OPSETS["ai.onnx.ml"]:  # trees (ai.onnx.ml 5): onnx.compose joins graphs of one ml opset only
        pre, post = set_opset(pre, "ai.onnx.ml", ml), set_opset(post, "ai.onnx.ml", ml)
    for op in core.opset_import:  # the pre graph must import every domain the core uses
        if op.domain not in {o.domain for o in pre.opset_import}:
            pre.opset_import.append(helper.make_opsetid(op.domain, op.version))
    pre_core = _join(pre, core, [(pre_name(f), pre_name(f)) for f in trained.inputs], prefix2=MODEL_PREFIX)
    full = _join(
        pre_core, post, [(MODEL_PREFIX + raw_name(o), raw_name(o)) for o in trained.outputs], outputs=list(specs)
    )
    full.graph.name = "tk"
    full.producer_name = "tk"
    _name_unnamed_nodes(full.graph)
    set_metadata(full, trained, specs)
    if explain_branch:  # False: the file as tk wrote it before explanations (bench/explain compares them)
        meta = explain.add_explain(full, trained, core, MODEL_PREFIX, background, exporter=exporter)
        full.metadata_props.append(onnx.StringStringEntryProto(key=explain.METADATA, value=json.dumps(meta)))
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
    from toolkit.features.columns import describe_raw
    from toolkit.version import __version__

    meta = {
        "tk.version": __version__,
        "tk.inputs": json.dumps(describe_raw(trained.inputs)),
        "tk.outputs": json.dumps([{"name": n, "dtype": d, "shape": s} for n, (d, s) in specs.items()]),
        "tk.features": json.dumps(
            {
                "inputs": [
                    {
                        "name": f.config.name,
                        "type": f.type,
                        "column": f.config.source,
                        **({"list": f.list_column.metadata()} if f.list_column is not None else {}),
                    }
                    for f in trained.inputs
                ],
                "outputs": [
                    {
                        "name": o.config.name,
                        "type": o.type,
                        "column": o.config.source,
                        **({"classes": list(o.classes)} if o.classes is not None else {}),
                        **({"threshold": float(o.threshold)} if o.threshold is not None else {}),
                    }
                    for o in trained.outputs
                ],
            }
        ),
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

    from toolkit.features.pregraph import session_options

    return ort.InferenceSession(model.SerializeToString(), session_options(threads), providers=["CPUExecutionProvider"])


def export(trained, exporter: str = "torchscript", columns: dict | None = None, tolerance: float = 1e-5):
    """Build the full ONNX model and prove parity; returns (ModelProto, ParityReport)."""
    from toolkit.export import parity

    background = getattr(trained, "explain_columns", None)
    if background is None and columns:
        background = explain.background_columns(columns)  # an older model dir: the rows given to the export
    full = build_full(trained, exporter, background)
    onnx.checker.check_model(full)
    explaining = None
    meta = {p.key: p.value for p in full.metadata_props}
    if explain.METADATA in meta:  # the file with its explain switch on, as every runtime makes it
        from toolkit.runtime.explanations import info, switched

        data = full.SerializeToString()
        explaining = session(onnx.load_from_string(switched(data, info(meta, "model.onnx"), "model.onnx")))
    report = parity.assert_parity(trained, session(full), columns, tolerance, background, explaining)
    return full, report
