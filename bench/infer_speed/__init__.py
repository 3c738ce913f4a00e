"""Inference speed side by side: tk's ONNX file, tk's Predictor, a skl2onnx pipeline (churn).

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.infer_speed --out bench/results

Writes bench/results/infer_speed.json and infer_speed.md. Routes, each timed at 1, 1,000 and
65,536 rows (the test rows, tiled to 65,536), interleaved over rounds, median per call, gc off,
onnxruntime with 1 intra-op and 1 inter-op thread:

  tk_ort            tk's model.onnx, `session.run` on numpy columns (float32 / str, shape [N])
  tk_predictor      `toolkit.runtime.predictor.Predictor.predict(records)`: dict rows in, dict rows out
  tk_predictor_before  the same, with the Predictor of `--before` (default `git:HEAD`, i.e.
                    toolkit/runtime/predictor.py as last committed), loaded from a temporary copy: the
                    before/after of the runtime change, measured in the same run
  tk_frame          `Predictor.run(DataFrame)`: the raw output arrays, what `tk predict` (via
                    TrainedModel.outputs_for) calls per chunk; the frame is read back from a
                    Parquet copy of the rows, so its dtypes are what `tk predict` sees (int64,
                    float64, pandas str); `tk_frame_before` the same with the --before runtime
  skl2onnx_ort      scikit-learn one-hot + LogisticRegression (bench.latency.models.onehot_logreg),
                    fitted on train + validation, converted by skl2onnx, `session.run` ([N, 1])

The tk routes are checked against each other before timing (identical labels, |Δp| ≤ 1e-6).
The model is trained once into runs/bench/churn (bench.latency.models.get_model), reused after.
The machine is usually shared: absolute times are noisy; the ratios are measured side by side.

The package: routes.py (the timed callables, checked against each other), report.py
(infer_speed.md); __main__.py times them (bench.common.interleaved) and writes the results.
"""
