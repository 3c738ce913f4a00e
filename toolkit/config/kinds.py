"""The registry of model kinds: `model_type` → the class that implements it, as "module:Class".

The config validates `model_type` against these names; toolkit.models.kind_of imports the class
when a model of that kind is trained or loaded (so reading a config imports no torch, no LightGBM).
Adding a kind is one module (a toolkit.models.base.ModelKind) and one line here; a plugin adds its
line through toolkit.plugins.
"""

MODEL_KINDS: dict[str, str] = {
    "nn": "toolkit.models.nn:NnKind",
    "gbm": "toolkit.models.gbm.kind:GbmKind",
    "ensemble": "toolkit.models.ensemble:EnsembleKind",
    "auto": "toolkit.models.auto:AutoKind",
}
