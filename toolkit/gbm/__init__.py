"""model_type gbm: LightGBM boosters between tk's pre graph and its post graph.

The whole API (nothing here imports lightgbm until a booster is trained or loaded):

    from toolkit.gbm import GbmConfig, GbmModel, Layout

    cfg = GbmConfig(**config_dict.get("gbm", {}))          # the `gbm:` section (pydantic, strict)
    layout = Layout.of(inputs, pre_train)                   # inputs: fitted input features in order;
                                                            # pre_*: {feature: `<feature>::pre` tensor}
    x_train, x_val = layout.matrix(pre_train), layout.matrix(pre_val)   # float32 [N, F]
    ys_train = [o.encode_target(train[o.config.source]) for o in outputs]  # float32 [N] each
    model = GbmModel(cfg).fit(x_train, ys_train, x_val, ys_val, outputs, layout,
                              validation_metric=cfg_root.validation_metric())  # (output, metric)
    model.predict_raw(x) -> [raw per output]   # what each output's `to_onnx_post` expects:
                                               # binary logit [N], category logits [N, C], number z [N]
    model.to_onnx() -> onnx.ModelProto         # inputs `<feature>::pre`, outputs `<output>::raw`
    model.state() -> dict (JSON) ; GbmModel.from_state(cfg, state)
    model.importances() -> {output: {feature: gain}} ; model.stats -> {output: {rounds, …}}

The core graph imports ai.onnx.ml opset 5 (ML_OPSET; TreeEnsemble with
BRANCH_MEMBER for categorical splits): the pre and post graphs it is merged
with must import the same version (`set_ml_opset(pre)`, `set_ml_opset(post)`;
LabelEncoder's latest version is 4, so ml 5 changes nothing for them; checked
in onnxruntime 1.32 and onnxruntime-node / -web (wasm) 1.30).

Inputs: number, binary and set (its multi-hot bag) as numeric columns, category
as one LightGBM categorical column (its id); text is refused with one line.
Outputs: binary, category, number, one booster each; set outputs are refused.
Parity: the trees run in float64 in onnxruntime and match LightGBM's raw
scores to ~1e-7 (float32 rounding), NaN, ±inf and unseen ids included.
"""

from toolkit.gbm.config import Bagging, GbmConfig
from toolkit.gbm.matrix import Layout, matrix_onnx
from toolkit.gbm.model import ML_OPSET, GbmModel, set_ml_opset

__all__ = ["Bagging", "GbmConfig", "GbmModel", "Layout", "ML_OPSET", "matrix_onnx", "set_ml_opset"]
