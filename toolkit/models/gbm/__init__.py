"""model_type gbm: LightGBM boosters between tk's pre graph and its post graph.

    raw columns ──pre graph──► <feature>::pre ──trees (this package)──► <output>::raw ──post graph──►

The trees take the place of the torch core: the same `<feature>::pre` inputs, the
same `<output>::raw` outputs in the decoders' convention (binary logit [N],
category logits [N, C], number z-scored value [N]), so each output's
`to_onnx_post`, `predict` and `score` work unchanged.

The whole API (lightgbm is imported only when a booster is trained or loaded):

    from toolkit.models.gbm import GbmConfig, GbmModel, Layout, set_ml_opset

    cfg = GbmConfig(**section)                              # the `gbm:` config section (strict pydantic)
    layout = Layout.of(inputs, pre_train)                   # inputs: fitted input features, in order;
                                                            # pre_*: {feature: `<feature>::pre` tensor}
    x_train, x_val = layout.matrix(pre_train), layout.matrix(pre_val)        # float32 [N, F]
    ys_train = [o.encode_target(train[o.config.source]) for o in outputs]    # float32 [N] each
    model = GbmModel(cfg).fit(x_train, ys_train, x_val, ys_val, outputs, layout,
                              validation_metric=config.validation_metric())   # (output, metric)
    model.predict_raw(x) -> [raw per output]   # = the torch model's decoder outputs
    model.to_onnx() -> onnx.ModelProto         # the core: `<feature>::pre` in, `<output>::raw` out
    model.state() -> dict (JSON, booster model strings inside); GbmModel.from_state(cfg, state)
    model.importances() -> {output: {feature: gain}}; model.stats -> {output: {rounds, …}}

Opset: the core imports ai.onnx.ml 5 (ML_OPSET; TreeEnsemble, whose BRANCH_MEMBER
is LightGBM's categorical "in set" split). onnx.compose refuses to merge graphs
whose ml opsets differ, so the pre and post graphs take `set_ml_opset(...)`
first (LabelEncoder's latest version is 4: ml 5 changes nothing for them;
checked in onnxruntime 1.32 and onnxruntime-node / -web (wasm) 1.30).

Inputs: number, binary and set (its multi-hot bag) as numeric columns, category
as one LightGBM categorical column (its id; a missing category is NaN); text is
refused with one line naming the feature. Outputs: binary, category, number,
one booster each; set outputs are refused. Parity: the trees run in float64 in
onnxruntime (LightGBM's own precision) and match its raw scores to ~1e-7,
NaN, ±inf, values at every threshold and unseen ids included.
"""

#: name → the submodule that holds it. Imported on first use, as `toolkit` does for train/load: reading a
#: config imports toolkit.config.gbm and must not pay for onnx and numpy (1.5 s on a busy machine).
_WHERE = {
    "Bagging": "toolkit.config.gbm",
    "GbmConfig": "toolkit.config.gbm",
    "Layout": "toolkit.models.gbm.matrix",
    "matrix_onnx": "toolkit.models.gbm.matrix",
    "ML_OPSET": "toolkit.models.gbm.model",
    "GbmModel": "toolkit.models.gbm.model",
    "set_ml_opset": "toolkit.models.gbm.model",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'toolkit.models.gbm' has no attribute {name!r}")
