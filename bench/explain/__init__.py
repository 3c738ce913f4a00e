"""Explanations inside model.onnx, measured: faithfulness against shap on the defaults suite sets, latency
with and without the explain branch, file sizes. `python -m bench.explain` → bench/results/explain.md."""
