"""The do-it-yourself peer of bench.latency and bench.infer_speed: a scikit-learn pipeline on tk's
raw input columns, fitted on the fit rows and converted by skl2onnx (zipmap off) for onnxruntime.

    est, session = fit_and_convert(onehot_logreg, trained, fit_rows)
    x = frame(trained, test_rows); check(est, session, x); session.run(None, feed(x))

Needs the `bench` extra (skl2onnx): fit_and_convert raises ImportError without it.
"""

from __future__ import annotations

import numpy as np

from bench.common import ort_session


def frame(trained, rows, what: str = "rows"):
    """The raw input columns of `rows` as tk prepares them (a DataFrame: float32 numbers, str others)."""
    import pandas as pd

    from toolkit.features import columns as prepare

    return pd.DataFrame(prepare.input_columns(trained.inputs, rows, what))


def feed(x) -> dict[str, np.ndarray]:
    """The converted pipeline's feed: every column as an [N, 1] array."""
    return {c: x[c].to_numpy().reshape(-1, 1) for c in x}


def fit_and_convert(builder, trained, fit_rows):
    """builder({tk type: [column]}) fitted on `fit_rows` (rows without a target dropped), and its
    skl2onnx conversion in an onnxruntime session: (estimator, session)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    from toolkit.features import columns as prepare
    from toolkit.features.base import RAW_FLOAT

    by_type: dict[str, list[str]] = {}
    for f in trained.inputs:
        by_type.setdefault(f.type, []).append(f.config.source)
    out = trained.outputs[0]
    y = out.encode_target(prepare.target_columns([out], fit_rows, "fit rows")[out.config.name])
    keep = ~np.isnan(y)
    est = builder(by_type).fit(frame(trained, fit_rows, "fit rows")[keep], y[keep].astype(int))
    types = [
        (c, FloatTensorType([None, 1]) if t == RAW_FLOAT else StringTensorType([None, 1]))
        for c, t in trained.preprocessor.columns.items()
    ]
    return est, ort_session(to_onnx(est, initial_types=types, options={id(est): {"zipmap": False}}))


def check(est, session, x) -> None:
    """The converted pipeline's probabilities on `x` are scikit-learn's (within 1e-4)."""
    got = session.run(None, feed(x))[1]
    diff = np.abs(got - est.predict_proba(x)).max()
    assert diff < 1e-4, f"skl2onnx differs from scikit-learn by {diff:.2e}"
