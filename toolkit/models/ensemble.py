"""model_type ensemble: the neural model and the GBM trained on the same split, averaged in the graph.

    raw columns ─► pre graph ─┬─► network (nn inputs)              ─► raw_nn  ─┐
                              └─► trees (gbm inputs: numbers raw)  ─► raw_gbm ─┴─► (raw_nn + raw_gbm) / 2 ─► post

Both members read the same pre graph: binary, category and set inputs are
fitted identically for both, so the trees read the network's tensors; each
number input gets a second feature, `<name>__raw` on the same column (its raw
value, NaN kept; see config.gbm_number_defaults), for the trees. Inputs the
trees cannot read (their feature type's `tree_input` is None: text) feed the
network alone. The average is of the decoders' raw outputs (logits,
z-scored values), so the post graph, calibration and every runtime are the
ones of a single model.
"""

from __future__ import annotations

import time

import numpy as np

from toolkit.common import log
from toolkit.models.base import ModelKind, raw_name
from toolkit.models.gbm.kind import GBM, GbmKind, load_trees, tree_refusal
from toolkit.models.nn import WEIGHTS, NnKind, export_core

#: Suffix of the trees' own number features (same column, raw value).
RAW_SUFFIX = "__raw"


def gbm_member_config(cfg, rename: bool = True):
    """The GBM half: model_type gbm, inputs trees cannot read left out, each number input as a tree wants it
    (raw value, NaN kept, one column), renamed `<name>__raw` when `rename` (the ensemble shares one
    pre graph between both halves, so the names must differ from the network's)."""
    from toolkit.config.schema import validate_config
    from toolkit.models.gbm.kind import tree_refusal

    data = cfg.model_dump(mode="json", exclude={"hyperopt"})
    data["model_type"] = "gbm"
    kept = []
    for f in data["input_features"]:
        if tree_refusal(f["type"]):
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
        a = self.net(*pre[: self.n_net])
        b = self.gbm(*[pre[i] for i in self.gbm_index])
        return tuple((x + y.to(x.device)) * 0.5 for x, y in zip(a, b))


def core_onnx(net_core, gbm_core, outputs):
    """One core graph from the network's and the trees' core graphs (both `<feature>::pre` →
    `<output>::raw`): their nodes side by side, the shared inputs once, the raw outputs averaged."""
    import onnx
    from onnx import compose, helper

    from toolkit.models.gbm import set_ml_opset

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
    graph = helper.make_graph(
        nodes,
        "tk_ensemble",
        inputs,
        out_infos,
        initializer=list(a.graph.initializer) + list(b.graph.initializer) + [half],
        value_info=list(a.graph.value_info) + list(b.graph.value_info),
    )
    opsets = {}
    for op in list(a.opset_import) + list(b.opset_import):
        opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = net_core.ir_version
    return model


def average_raw(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    return [(x + y) * np.float32(0.5) for x, y in zip(a, b)]


def trees_can_read_any(cfg) -> bool:
    """Whether the trees can read at least one of the config's inputs (else the network goes alone)."""
    return any(not tree_refusal(f.type) for f in cfg.input_features)


class EnsembleKind(ModelKind):
    """The network and the GBM on the same split and one pre graph, their raw outputs averaged
    inside the graph; calibration, metrics and the export on the average. Streamed data, several
    processes, or no input the trees can read: the network alone."""

    name = "ensemble"
    file_names = (WEIGHTS, GBM)

    def extra_inputs(self, cfg) -> list:
        return member_inputs(cfg)[1]

    def train(self, job, fit_single):
        from toolkit.features.pregraph import Preprocessor
        from toolkit.models import kind_of
        from toolkit.training import ddp, epochs
        from toolkit.training.devices import pick_device
        from toolkit.training.evaluation import evaluate
        from toolkit.training.job import Fitted
        from toolkit.training.steps import PARITY_ROWS, checked_split, fit_post, make_splits, never_predicted

        cfg, source = job.cfg, job.source
        nn_cfg = cfg.model_copy(update={"model_type": "nn"})
        if not source.whole or ddp.world_size() > 1 or not trees_can_read_any(cfg):
            log.info(
                "model_type ensemble: the network alone (streamed data, several processes or no input "
                "the trees can read)"
            )
            return fit_single(job.member(nn_cfg, keep_output=True, keep_on_epoch=True), kind_of("nn"))
        started = time.perf_counter()
        net = fit_single(job.member(nn_cfg, keep_output=False, keep_on_epoch=True), kind_of("nn"))
        trees = fit_single(job.member(gbm_member_config(cfg)), kind_of("gbm"))
        by_name = {f.config.name: f for f in trees.inputs}
        extra = [by_name[fc.name] for fc in member_inputs(cfg)[1]]
        inputs, outputs = net.inputs + extra, net.outputs
        names = [f.config.name for f in inputs]
        core = EnsembleCore(net.core, trees.core, len(net.inputs), names)
        # scored on validation rows: the members before any refit on train + validation (trainer.refit)
        scored = EnsembleCore(net.scored_core, trees.scored_core, len(net.inputs), names)
        ctx = ddp.setup(pick_device(cfg.trainer.device))
        pre = Preprocessor(inputs, threads=cfg.trainer.threads)
        summary = net.stats["data"]
        splits = make_splits(
            cfg,
            source,
            inputs=inputs,
            outputs=outputs,
            pre=pre,
            ctx=ctx,
            rows=job.rows,
            summary=summary,
            label=job.label,
        )
        val = checked_split(splits)
        answers = val.predictions(scored, ctx)
        post = fit_post(scored, outputs, val, ctx, answers)
        silent = never_predicted(outputs, answers[0])
        metrics = {name: evaluate(scored, outputs, split, ctx) for name, split in splits.items() if split.rows}
        watch_output, watch_metric = cfg.validation_metric()
        value = epochs.watched_value(metrics.get("validation", metrics["train"]), outputs, cfg)
        history = epochs.History(
            epochs=net.stats["epochs"],
            best_epoch=net.stats["best_epoch"],
            best_value=value,
            stopped_early=net.stats["stopped_early"],
            seconds=net.stats["train_seconds"] + trees.stats["train_seconds"],
        )
        stats = epochs.training_stats(cfg, history, metrics, summary, started)
        stats["ensemble"] = {
            "validation_metric": f"{watch_output}.{watch_metric}",
            "nn": net.stats["best_value"],
            "gbm": trees.stats["best_value"],
            "ensemble": value,
        }
        stats["gbm"] = trees.stats["gbm"]
        if "refit" in net.stats or "refit" in trees.stats:
            stats["refit"] = {"nn": net.stats.get("refit"), "gbm": trees.stats.get("refit")}
        if post:
            stats["calibration"] = post
        if silent:
            stats["never_predicted"] = silent
        log.info(
            f"model_type ensemble: validation {watch_output}.{watch_metric} nn {net.stats['best_value']:.4f}, "
            f"gbm {trees.stats['best_value']:.4f}, both {value:.4f}"
        )
        return Fitted(
            cfg, inputs, outputs, core, stats, parity_columns=val.raw_sample(PARITY_ROWS) or None, first_core=scored
        )

    def core_files(self, core) -> dict[str, bytes]:
        return NnKind().core_files(core.net) | GbmKind().core_files(core.gbm)

    def load_core(self, cfg, inputs, outputs, files: dict[str, bytes]):
        n_net = len(cfg.input_features)  # the network's inputs come first
        net = NnKind().load_core(cfg, inputs[:n_net], outputs, files)
        return EnsembleCore(net, load_trees(cfg, files[GBM], []), n_net, [f.config.name for f in inputs])

    def onnx_core(self, trained, exporter: str):
        from types import SimpleNamespace

        n_net = len(trained.config.input_features)
        net = SimpleNamespace(
            model=trained.model.net,
            inputs=trained.inputs[:n_net],
            outputs=trained.outputs,
            preprocessor=trained.preprocessor,
        )
        return core_onnx(export_core(net, exporter), trained.model.gbm.to_onnx(), trained.outputs)
