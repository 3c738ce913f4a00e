"""Inference latency: tk's single ONNX file against the routes a user could take instead.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.latency --models churn --runs 1000 --out bench/results

Writes bench/results/latency.json and latency.md. For each model and batch size
(1 and 256 of the test rows), the median of `--runs` timed calls (after a
warm-up; garbage collector off while timing), onnxruntime with 1 intra-op and
1 inter-op thread, torch with 1 thread. Every route starts from the same raw
test columns and ends at labels + probabilities, and is checked against the
full ONNX pipeline (labels identical, probabilities within 1e-5) before it is
timed, except the scikit-learn routes, which are another model:

  onnx_full   the full tk file (pre + model + post): `session.run` on prepared numpy columns
  predictor   the same file through `toolkit.runtime.predictor.Predictor.predict(records)`: Python overhead included
  onnx_core   the model-only graph (`toolkit.export.onnx.export_core`) fed the preprocessed tensors: the floor
  onnx_inputs the same raw columns into a graph that only takes each one's Shape: what handing the
              raw columns (strings included) to onnxruntime costs, below which no single file can go
  torch_eager preprocessing in numpy/Python from the features' `state()` (what a do-it-yourself
              user writes), then `trained.model(*tensors)` under torch.no_grad, then the output's `predict`
  skl2onnx    a scikit-learn pipeline (impute + scale numbers, one-hot the rest, LogisticRegression)
              fitted on train + validation, converted with skl2onnx (zipmap off), in onnxruntime
  sklearn     that scikit-learn pipeline's own `predict_proba` on a DataFrame (for scale)
  node, wasm  the full tk file in onnxruntime-node / onnxruntime-web (wasm) via
              examples/edge/node/predict.js --repeat (when node and its packages are installed)

Routes are measured in interleaved rounds (`--rounds`), so a noisy neighbour
hits them alike. When the full pipeline misses its 1-row target (or with
`--profile`), onnxruntime's profiler (SessionOptions.enable_profiling) names
the nodes that cost the most.

To add a model, add one entry to MODELS: its tk config and data, how the test
(and scikit-learn fit) rows are chosen, and a scikit-learn builder (or None).
Needs the `bench` extra: skl2onnx.

The package: models.py (MODELS, get_model), routes.py (the timed callables, checked first),
timing.py (interleaved medians, onnxruntime's profiler), report.py (latency.md);
__main__.py parses the options and writes the results.
"""
