"""A plain BentoML service around skl2onnx files: the do-it-yourself serving route, for comparison.

    PEERS_ONNX='{"churn": "/…/churn.onnx"}' PEERS_COLUMNS='{"tenure": "number", …}' \
        python -m bentoml serve bench.peers.plain_bento_service:PlainOnnxService --host 127.0.0.1 --port 3000

`POST /predict` {"rows": [row, …]} → [{"<output>": {"label": …, "probabilities": [p, …]}} | {"value": …}].
What a user writes in an afternoon: one worker, one onnxruntime session (1 thread) per output, rows
turned into [N, 1] columns (numbers float32 with NaN for null, everything else str with "" for null),
no batching and no validation beyond what BentoML's JSON parsing does.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")

import bentoml
import numpy as np
import onnxruntime as ort

FILES: dict[str, str] = json.loads(os.environ.get("PEERS_ONNX", "{}"))
COLUMNS: dict[str, str] = json.loads(os.environ.get("PEERS_COLUMNS", "{}"))


def _column(rows: list[dict], name: str, kind: str) -> np.ndarray:
    if kind == "number":
        return np.array([[np.nan if r.get(name) is None else float(r[name])] for r in rows], dtype=np.float32)
    return np.array([["" if r.get(name) is None else str(r[name])] for r in rows], dtype=object)


@bentoml.service(workers=1)
class PlainOnnxService:
    def __init__(self) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 1, 1, 3
        self.sessions = {
            name: ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]) for name, path in FILES.items()
        }

    @bentoml.api
    def predict(self, rows: list[dict]) -> list[dict]:
        feed = {c: _column(rows, c, kind) for c, kind in COLUMNS.items()}
        answers: list[dict] = [{} for _ in rows]
        for name, session in self.sessions.items():
            out = session.run(None, feed)
            if len(out) > 1:  # classifier: labels, probabilities
                for a, label, probs in zip(answers, out[0].ravel().tolist(), out[1].tolist()):
                    a[name] = {"label": label, "probabilities": probs}
            else:
                for a, value in zip(answers, out[0].ravel().tolist()):
                    a[name] = {"value": value}
        return answers
