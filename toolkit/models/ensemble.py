"""model_type ensemble: the neural model, the GBM and, with a text input, a TF-IDF linear model trained on
the same split, blended in the graph.

    raw columns ─► pre graph ─┬─► network (nn inputs)              ─► raw_nn   ─┐
                              ├─► trees (gbm inputs: numbers raw)  ─► raw_gbm  ─┼─► Σ weight · raw ─► post
                              └─► TF-IDF + linear (text inputs)    ─► raw_text ─┘

All members read the same pre graph: binary, category and set inputs are
fitted identically for the network and the trees, so the trees read the
network's tensors; each number input gets a second feature, `<name>__raw` on
the same column (its raw value, NaN kept; see config.gbm_number_defaults), for
the trees. Inputs the trees cannot read (their feature type's `tree_input` is
None: text) feed the network and the text member (toolkit.models.text_linear:
the text inputs' own ids → TF-IDF → logistic regression; binary and category
outputs only). The blend is of the raw outputs (logits, z-scored values), so
the post graph, calibration and every runtime are the ones of a single model.

Weights (EnsembleCore.weights, training_stats.json "ensemble"): without a text
member the network and the trees are averaged 0.5 / 0.5 exactly as before
(model.onnx of such a config is byte-identical to the two-member one); with
one, the text member and the rest each get a temperature on the validation rows
and the text member's share α is picked there (toolkit.models.ensemble_train):
raw = (1 − α) · rest / T_rest + α · text / T_text, the factors stored as the
weights (summing to 1 only when both temperatures are 1). Core nodes are prefixed "nn/", "gbm/", "text/",
the blend "ensemble/". Files: model.safetensors (the network; with a text
member also its heads as `text/<k>/weight|bias` and the weights in the
metadata), gbm.json (the trees, or NO_TREES for a text-only config).
"""

from __future__ import annotations

from toolkit.common import log
from toolkit.models.base import ModelKind, raw_name
from toolkit.models.ensemble_core import (  # noqa: F401  (EnsembleCore, blend, … are this module's names too)
    RAW_SUFFIX,
    EnsembleCore,
    Member,
    blend,
    gbm_member_config,
    member_inputs,
    trees_can_read_any,
)
from toolkit.models.gbm.kind import GBM, GbmKind, load_trees
from toolkit.models.nn import WEIGHTS, NnKind, export_core


def _joined(parts: list, nodes: list, out_infos: list, initializers: list, ir_version: int):
    """One graph from prefixed member graphs `parts` (their nodes first, then `nodes`), the shared
    `<feature>::pre` inputs once, every member's initializers and value infos, the highest opsets."""
    from onnx import helper

    inputs, seen = [], set()
    for v in [v for m in parts for v in m.graph.input]:
        if v.name not in seen:
            seen.add(v.name)
            inputs.append(v)
    graph = helper.make_graph(
        [node for m in parts for node in m.graph.node] + nodes,
        "tk_ensemble",
        inputs,
        out_infos,
        initializer=[t for m in parts for t in m.graph.initializer] + initializers,
        value_info=[v for m in parts for v in m.graph.value_info],
    )
    opsets = {}
    for op in [op for m in parts for op in m.opset_import]:
        opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = ir_version
    return model


def _raw_info(member, prefix: str, output):
    """The value info of `output`'s raw tensor, as `member` (a prefixed graph) declares it, renamed."""
    import onnx

    name = raw_name(output)
    info = onnx.ValueInfoProto()
    info.CopyFrom(next(v for v in member.graph.output if v.name == f"{prefix}{name}"))
    info.name = name
    return info


def core_onnx(net_core, gbm_core, outputs):
    """One core graph from the network's and the trees' core graphs (both `<feature>::pre` →
    `<output>::raw`): their nodes side by side, the shared inputs once, the raw outputs averaged."""
    import onnx
    from onnx import compose, helper

    from toolkit.models.gbm import set_ml_opset

    a = compose.add_prefix(net_core, "nn/", rename_inputs=False)
    b = compose.add_prefix(set_ml_opset(gbm_core), "gbm/", rename_inputs=False)
    half = helper.make_tensor("ensemble/half", onnx.TensorProto.FLOAT, [], [0.5])
    nodes = []
    for o in outputs:
        name = raw_name(o)
        total = f"ensemble/{o.config.name}/sum"
        nodes.append(helper.make_node("Add", [f"nn/{name}", f"gbm/{name}"], [total], name=total))
        nodes.append(helper.make_node("Mul", [total, "ensemble/half"], [name], name=f"ensemble/{o.config.name}/mean"))
    out_infos = [_raw_info(a, "nn/", o) for o in outputs]
    return _joined([a, b], nodes, out_infos, [half], net_core.ir_version)


def blended_onnx(members: dict, outputs, weights: dict[str, float]):
    """One core graph from the members' core graphs ({"nn": …, "gbm": …, "text": …}, each
    `<feature>::pre` → `<output>::raw`): nodes prefixed with the member's name ("nn/", "gbm/",
    "text/"), the shared inputs once, each raw output Σ weight · member's raw output."""
    import onnx
    from onnx import compose, helper

    from toolkit.models.gbm import set_ml_opset

    parts = {
        n: compose.add_prefix(set_ml_opset(m) if n == "gbm" else m, f"{n}/", rename_inputs=False)
        for n, m in members.items()
    }
    consts = [helper.make_tensor(f"ensemble/w_{n}", onnx.TensorProto.FLOAT, [], [float(weights[n])]) for n in parts]
    nodes = []
    for o in outputs:
        name, out = raw_name(o), o.config.name
        terms = []
        for n in parts:
            nodes.append(
                helper.make_node(
                    "Mul", [f"{n}/{name}", f"ensemble/w_{n}"], [f"ensemble/{out}/{n}"], name=f"ensemble/{out}/{n}"
                )
            )
            terms.append(f"ensemble/{out}/{n}")
        total = terms[0]
        if len(terms) == 1:  # one member: its weighted output is the raw output
            nodes.append(helper.make_node("Identity", [total], [name], name=f"ensemble/{out}/only"))
        for k, t in enumerate(terms[1:]):
            target = name if k == len(terms) - 2 else f"ensemble/{out}/sum{k}"
            nodes.append(helper.make_node("Add", [total, t], [target], name=f"ensemble/{out}/sum{k}"))
            total = target
    out_infos = [_raw_info(parts["nn"], "nn/", o) for o in outputs]
    return _joined(list(parts.values()), nodes, out_infos, consts, members["nn"].ir_version)


class _Rest:
    """An EnsembleCore without its trees: Σ weight · member's raw output over the other members."""

    def __init__(self, core, weights: dict[str, float]):
        self.core, self.weights = core, weights

    def eval(self) -> "_Rest":
        self.core.eval()
        return self

    def to(self, device) -> "_Rest":
        return self

    def __call__(self, *pre):
        from toolkit.models.ensemble_core import Member, blend

        found = {n: Member(self.core, n)(*pre) for n in self.weights}
        device = found["nn"][0].device
        return blend({n: [t.to(device) for t in v] for n, v in found.items()}, self.weights)


#: gbm.json of an ensemble whose trees read no input (text only): the network and the text member.
NO_TREES = {"trees": None, "why": "no input of this config is one the trees can read"}
#: The safetensors metadata key holding the blend (model.safetensors of an ensemble with a text member).
BLEND_KEY = "tk_ensemble"


class EnsembleKind(ModelKind):
    """The network, the GBM and (with a text input) a TF-IDF linear model on the same split and one
    pre graph, their raw outputs blended inside the graph; calibration, metrics and the export on
    the blend. Streamed data, several processes, or no input the trees can read and no text
    member: the network alone."""

    name = "ensemble"
    file_names = (WEIGHTS, GBM)

    def extra_inputs(self, cfg) -> list:
        return member_inputs(cfg)[1] if trees_can_read_any(cfg) else []

    def train(self, job, fit_single):
        from toolkit.models import kind_of
        from toolkit.models.ensemble_train import train_members
        from toolkit.models.text_linear import supported
        from toolkit.training import ddp

        cfg, source = job.cfg, job.source
        nn_cfg = cfg.model_copy(update={"model_type": "nn"})
        text = supported(cfg)
        if not source.whole or ddp.world_size() > 1 or not (trees_can_read_any(cfg) or text):
            log.info(
                "model_type ensemble: the network alone (streamed data, several processes or no input "
                "the trees or the text member can read)"
            )
            return fit_single(job.member(nn_cfg, keep_output=True, keep_on_epoch=True), kind_of("nn"))
        return train_members(job, fit_single, trees=trees_can_read_any(cfg), text=text)

    def core_files(self, core) -> dict[str, bytes]:
        if core.text is None:
            return NnKind().core_files(core.net) | GbmKind().core_files(core.gbm)
        import json

        from safetensors.numpy import save

        net = {k: v.detach().cpu().contiguous().numpy() for k, v in core.net.state_dict().items()}
        meta = {BLEND_KEY: json.dumps({"weights": core.weights, "text_inputs": core.text.names})}
        return {
            WEIGHTS: save(net | core.text.tensors(), metadata=meta),
            GBM: json.dumps(NO_TREES).encode() if core.gbm is None else GbmKind().core_files(core.gbm)[GBM],
        }

    def load_core(self, cfg, inputs, outputs, files: dict[str, bytes]):
        import json

        n_net = len(cfg.input_features)  # the network's inputs come first
        names = [f.config.name for f in inputs]
        blend = safetensors_metadata(files[WEIGHTS]).get(BLEND_KEY)
        if blend is None:
            net = NnKind().load_core(cfg, inputs[:n_net], outputs, files)
            return EnsembleCore(net, load_trees(cfg, files[GBM], []), n_net, names)
        from safetensors.numpy import load, save

        from toolkit.models.text_linear import TextLinear

        blend = json.loads(blend)
        tensors = load(files[WEIGHTS])
        net_part = save({k: v for k, v in tensors.items() if not k.startswith("text/")})
        net = NnKind().load_core(cfg, inputs[:n_net], outputs, {WEIGHTS: net_part})
        try:
            trees_state = json.loads(files[GBM])
        except ValueError:
            trees_state = {}
        trees = None if trees_state == NO_TREES else load_trees(cfg, files[GBM], [])
        by_name = {f.config.name: f for f in inputs}
        text = TextLinear.from_tensors([by_name[n] for n in blend["text_inputs"]], outputs, tensors)
        return EnsembleCore(net, trees, n_net, names, text=text, weights=blend["weights"])

    def onnx_core(self, trained, exporter: str):
        from types import SimpleNamespace

        n_net = len(trained.config.input_features)
        core = trained.model
        net = SimpleNamespace(
            model=core.net,
            inputs=trained.inputs[:n_net],
            outputs=trained.outputs,
            preprocessor=trained.preprocessor,
        )
        net_onnx = export_core(net, exporter)
        if core.text is None:
            return core_onnx(net_onnx, core.gbm.to_onnx(), trained.outputs)
        shapes = {
            v.name[: -len("::pre")]: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in net_onnx.graph.input
        }
        members = {"nn": net_onnx}
        if core.gbm is not None:
            members["gbm"] = core.gbm.to_onnx()
        members["text"] = core.text.to_onnx(trained.outputs, shapes)
        return blended_onnx(members, trained.outputs, core.weights)

    def explain_split(self, trained, exporter: str) -> tuple[list, tuple | None]:
        """The trees' term (its blend weight × the booster) explained exactly; the network and the text member
        blended by their weights, the rest, by the sampled method (toolkit.export.explain)."""
        core = trained.model
        if core.gbm is None:
            return [], (None, core)
        from types import SimpleNamespace

        rest = {n: w for n, w in core.weights.items() if n != "gbm"}
        net = SimpleNamespace(
            model=core.net,
            inputs=trained.inputs[: core.n_net],
            outputs=trained.outputs,
            preprocessor=trained.preprocessor,
        )
        if exporter is None:  # the terms called like the network only (toolkit.export.explain.reference)
            return [(float(core.weights["gbm"]), core.gbm.gbm)], (None, _Rest(core, rest))
        members = {"nn": export_core(net, exporter)}
        if core.text is not None:
            shapes = {
                v.name[: -len("::pre")]: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in members["nn"].graph.input
            }
            members["text"] = core.text.to_onnx(trained.outputs, shapes)
        return [(float(core.weights["gbm"]), core.gbm.gbm)], (
            blended_onnx(members, trained.outputs, rest),
            _Rest(core, rest),
        )


def safetensors_metadata(data: bytes) -> dict:
    """The `__metadata__` of a safetensors file's header ({} when it has none or is damaged)."""
    import json

    try:
        n = int.from_bytes(data[:8], "little")
        return json.loads(data[8 : 8 + n]).get("__metadata__") or {}
    except (ValueError, AttributeError):
        return {}
