"""model_type ensemble: the neural model and the GBM trained on the same split, averaged in the graph.

    raw columns ─► pre graph ─┬─► network (nn inputs)              ─► raw_nn  ─┐
                              └─► trees (gbm inputs: numbers raw)  ─► raw_gbm ─┴─► (raw_nn + raw_gbm) / 2 ─► post

Both members read the same pre graph: binary, category and set inputs are
fitted identically for both, so the trees read the network's tensors; each
number input gets a second feature, `<name>__raw` on the same column (its raw
value, NaN kept; see config.gbm_number_defaults), for the trees. Text inputs
feed the network alone. The average is of the decoders' raw outputs (logits,
z-scored values), so the post graph, calibration and every runtime are the
ones of a single model.
"""

from __future__ import annotations

import numpy as np

#: Suffix of the trees' own number features (same column, raw value).
RAW_SUFFIX = "__raw"


def gbm_member_config(cfg, rename: bool = True):
    """The GBM half: model_type gbm, text inputs left out, each number input as a tree wants it
    (raw value, NaN kept, one column), renamed `<name>__raw` when `rename` (the ensemble shares one
    pre graph between both halves, so the names must differ from the network's)."""
    from toolkit.config import validate_config

    data = cfg.model_dump(mode="json", exclude={"hyperopt"})
    data["model_type"] = "gbm"
    kept = []
    for f in data["input_features"]:
        if f["type"] == "text":
            continue
        if f["type"] == "number":
            f["encoder"] = {"type": "passthrough"}
            f["preprocessing"] |= {"normalization": "none", "missing_value_strategy": "keep"}
            if rename:
                f["column"], f["name"] = f.get("column") or f["name"], f["name"] + RAW_SUFFIX
        kept.append(f)
    data["input_features"] = kept
    return validate_config(data, "the gbm half of the model")


def member_inputs(cfg):
    """(network's input configs, the trees' extra number configs) of an ensemble config."""
    gbm_cfg = gbm_member_config(cfg)
    nn_names = {f.name for f in cfg.input_features}
    return list(cfg.input_features), [f for f in gbm_cfg.input_features if f.name not in nn_names]


class EnsembleCore:
    """Called like the network on every input's pre tensor (network inputs first, then the trees'
    own number features); returns the mean of both members' raw outputs, per output."""

    def __init__(self, net, gbm_core, n_net_inputs: int, input_names: list[str]):
        self.net, self.gbm, self.n_net = net, gbm_core, n_net_inputs
        self.input_names = list(input_names)
        wanted = {b.feature for b in gbm_core.gbm.layout_.blocks}
        self.gbm_index = [i for i, n in enumerate(self.input_names) if n in wanted]
        self.gbm.input_names = [self.input_names[i] for i in self.gbm_index]

    def eval(self) -> "EnsembleCore":
        self.net.eval()
        return self

    def to(self, device) -> "EnsembleCore":
        self.net.to(device)
        return self

    def state_dict(self):
        return self.net.state_dict()

    def __call__(self, *pre):
        a = self.net(*pre[:self.n_net])
        b = self.gbm(*[pre[i] for i in self.gbm_index])
        return tuple((x + y.to(x.device)) * 0.5 for x, y in zip(a, b))


def core_onnx(net_core, gbm_core, outputs, raw_name):
    """One core graph from the network's and the trees' core graphs (both `<feature>::pre` →
    `<output>::raw`): their nodes side by side, the shared inputs once, the raw outputs averaged."""
    import onnx
    from onnx import compose, helper

    from toolkit.gbm import set_ml_opset

    a = compose.add_prefix(net_core, "nn/", rename_inputs=False)
    b = compose.add_prefix(set_ml_opset(gbm_core), "gbm/", rename_inputs=False)
    half = helper.make_tensor("ensemble/half", onnx.TensorProto.FLOAT, [], [0.5])
    nodes = list(a.graph.node) + list(b.graph.node)
    outs = []
    for o in outputs:
        name = raw_name(o)
        total = f"ensemble/{o.config.name}/sum"
        nodes.append(helper.make_node("Add", [f"nn/{name}", f"gbm/{name}"], [total], name=total))
        nodes.append(helper.make_node("Mul", [total, "ensemble/half"], [name], name=f"ensemble/{o.config.name}/mean"))
        outs.append(next(v for v in a.graph.output if v.name == f"nn/{name}"))
    inputs, seen = [], set()
    for v in list(a.graph.input) + list(b.graph.input):
        if v.name not in seen:
            seen.add(v.name)
            inputs.append(v)
    out_infos = []
    for v, o in zip(outs, outputs):
        info = onnx.ValueInfoProto()
        info.CopyFrom(v)
        info.name = raw_name(o)
        out_infos.append(info)
    graph = helper.make_graph(nodes, "tk_ensemble", inputs, out_infos,
                              initializer=list(a.graph.initializer) + list(b.graph.initializer) + [half],
                              value_info=list(a.graph.value_info) + list(b.graph.value_info))
    opsets = {}
    for op in list(a.opset_import) + list(b.opset_import):
        opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = net_core.ir_version
    return model


def average_raw(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    return [(x + y) * np.float32(0.5) for x, y in zip(a, b)]
