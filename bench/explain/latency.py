"""Latency and size of model.onnx with and without its explain branch, in one process, side by side.

For the churn example (19 inputs) as nn, gbm and ensemble: the file tk writes and the same model built
without the branch (toolkit.export.onnx.build_full(explain_branch=False): the file as before), both in
onnxruntime with 1 intra-op thread. Predictions (session.run of the prediction outputs) at 1 and 256
rows, the two files alternating run by run; explanations of 1 row (a session of the file with its explain
switch on, every output). Medians of REPEATS runs after a warm-up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

REPEATS = 400
CHURN = Path(__file__).resolve().parents[2] / "examples" / "churn"


def _session(data: bytes, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = threads, 1, 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def _median_us(calls, repeats: int) -> list[float]:
    """Median µs of each call, run alternately, in turn first and last (so drift of a shared machine and
    the cost of going first hit them alike)."""
    for call in calls:
        for _ in range(20):
            call()
    times = [[] for _ in calls]
    for r in range(repeats):
        order = list(enumerate(calls))
        for k, call in order if r % 2 else order[::-1]:  # each goes first as often: no order bias
            t0 = time.perf_counter()
            call()
            times[k].append(time.perf_counter() - t0)
    return [float(np.median(t)) * 1e6 for t in times]


def measure(work: Path, threads: int = 1) -> dict:
    import pandas as pd
    import yaml

    from toolkit import train
    from toolkit.common import log
    from toolkit.export.onnx import build_full
    from toolkit.features import columns as prepare

    log.quiet = True
    load_start = os.getloadavg()[0]
    df = pd.read_csv(CHURN / "churn.csv")
    models = []
    for kind in ("nn", "gbm", "ensemble"):
        cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
        cfg |= {"model_type": kind, "dataset": str(CHURN / "churn.csv")}
        model = train(cfg, output=work / f"latency-{kind}")
        with_branch = (work / f"latency-{kind}" / "model.onnx").read_bytes()
        without = build_full(model, explain_branch=False).SerializeToString()
        from toolkit.runtime.explanations import info, switched

        a, b = _session(without, threads), _session(with_branch, threads)
        explaining = _session(switched(with_branch, info(model.predictor.metadata, kind), kind), threads)
        outputs = [o.name for o in a.get_outputs()]
        test = prepare.input_columns(model.inputs, df[df["split"] == "test"], "churn.csv")
        rows = []
        for n in (1, 256):
            feed = {c: v[:n] for c, v in test.items()}
            plain = [lambda s=a, f=feed: s.run(outputs, f), lambda s=b, f=feed: s.run(outputs, f)]
            times = _median_us(plain, REPEATS if n == 1 else REPEATS // 4)
            row = {"rows": n, "predict_without_us": times[0], "predict_with_us": times[1]}
            if n == 1:  # apart: a 1 ms explanation just before a prediction would slow that one (cold caches)
                explained = [o.name for o in explaining.get_outputs()]
                pair = _median_us([plain[1], lambda f=feed: explaining.run(explained, f)], REPEATS)
                row |= {"explain_us": pair[1], "explain_ratio": pair[1] / times[1]}  # against the clean predict
            rows.append(row)
        models.append(
            {
                "name": f"churn {kind}",
                "bytes_without": len(without),
                "bytes_with": len(with_branch),
                "trees": kind != "nn",
                "rows": rows,
            }
        )
    note = (
        f"churn (19 inputs), onnxruntime {__import__('onnxruntime').__version__}, {threads} intra-op thread, "
        f"median of {REPEATS} runs (1 row) / {REPEATS // 4} (256 rows), files alternating; "
        f"{os.cpu_count()} CPUs shared with other work: load (1-minute average) {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end."
    )
    return {"note": note, "models": models}
