"""The ensemble's core and its members' configs (toolkit.models.ensemble: the kind, files and ONNX;
toolkit.models.ensemble_train: the training).

    core = EnsembleCore(net, gbm_core_or_None, n_net_inputs, input_names, text=None, weights=None)
    core(*pre)            # every input's pre tensor → Σ weight · member's raw output, per output
    core.weights          # {"nn": 0.5, "gbm": 0.5} without a text member; {"nn", ["gbm",] "text"} with one
"""

from __future__ import annotations

from toolkit.models.gbm.kind import tree_refusal

#: Suffix of the trees' own number features (same column, raw value).
RAW_SUFFIX = "__raw"


def gbm_member_config(cfg, rename: bool = True):
    """The GBM half: model_type gbm, inputs trees cannot read left out, each number input as a tree wants it
    (raw value, NaN kept, one column), renamed `<name>__raw` when `rename` (the ensemble shares one
    pre graph between both halves, so the names must differ from the network's)."""
    from toolkit.config.schema import validate_config

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
    own number features); returns the members' raw outputs blended by `weights`, per output.

    `weights`: member name ("nn", "gbm", "text") → the factor its raw outputs are multiplied by before
    they are summed (with a text member the factors fold in each side's temperature, so they need
    not sum to 1; toolkit.models.ensemble_train.pick_alpha). Without a text
    member the network and the trees are averaged exactly as before ((a + b) · 0.5)."""

    def __init__(self, net, gbm_core, n_net_inputs: int, input_names: list[str], text=None, weights=None):
        self.net, self.gbm, self.text, self.n_net = net, gbm_core, text, n_net_inputs
        self.input_names = list(input_names)
        self.gbm_index = []
        if gbm_core is not None:
            wanted = {b.feature for b in gbm_core.gbm.layout_.blocks}
            self.gbm_index = [i for i, n in enumerate(self.input_names) if n in wanted]
            self.gbm.input_names = [self.input_names[i] for i in self.gbm_index]
        self.text_index = [self.input_names.index(n) for n in text.names] if text is not None else []
        if weights is None:
            weights = {"nn": 0.5, "gbm": 0.5} if gbm_core is not None else {"nn": 1.0}
        self.weights = dict(weights)

    def eval(self) -> "EnsembleCore":
        self.net.eval()
        return self

    def to(self, device) -> "EnsembleCore":
        self.net.to(device)
        return self

    def state_dict(self):
        return self.net.state_dict()

    def member(self, name: str, *pre) -> tuple:
        """One member's raw outputs ("nn", "gbm" or "text") from every input's pre tensor."""
        if name == "nn":
            return self.net(*pre[: self.n_net])
        if name == "gbm":
            return self.gbm(*[pre[i] for i in self.gbm_index])
        return self.text(*[pre[i] for i in self.text_index])

    def members(self, *pre) -> dict[str, tuple]:
        """Each member's raw outputs, by member name."""
        present = ["nn"] + (["gbm"] if self.gbm is not None else []) + (["text"] if self.text is not None else [])
        return {n: self.member(n, *pre) for n in present}

    def __call__(self, *pre):
        found = self.members(*pre)
        if self.text is None:
            if self.gbm is None:
                return found["nn"]
            return tuple((x + y.to(x.device)) * 0.5 for x, y in zip(found["nn"], found["gbm"]))
        return blend({k: [t.to(found["nn"][0].device) for t in v] for k, v in found.items()}, self.weights)


class Member:
    """One member of an EnsembleCore behind the same calling convention (scored alone)."""

    def __init__(self, core: EnsembleCore, name: str):
        self.core, self.name = core, name

    def eval(self) -> "Member":
        self.core.eval()
        return self

    def to(self, device) -> "Member":
        return self

    def __call__(self, *pre):
        return self.core.member(self.name, *pre)


def blend(raw: dict[str, list], weights: dict[str, float]) -> tuple:
    """Σ weight · raw over the members, per output (torch tensors or numpy arrays), in the order of `weights`."""
    names = list(weights)
    out = []
    for k in range(len(raw[names[0]])):
        total = raw[names[0]][k] * float(weights[names[0]])
        for n in names[1:]:
            total = total + raw[n][k] * float(weights[n])
        out.append(total)
    return tuple(out)


def trees_can_read_any(cfg) -> bool:
    """Whether the trees can read at least one of the config's inputs (else the network goes alone)."""
    return any(not tree_refusal(f.type) for f in cfg.input_features)
