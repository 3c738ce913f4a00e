"""scikit-learn in the peers benchmark, and the do-it-yourself deployment route: skl2onnx + onnxruntime.

Parent side:  r = run(prep, "linear", workdir, timeout, latency_runs)
Child side:   python -m bench.peers.sklearn_system SPEC.json   (SPEC from the parent)

Systems (one pipeline per output, fitted on train + validation):
- `linear`: numbers median-imputed + standard-scaled, categories/binaries one-hot, a text column
  TF-IDF (1–2-grams, sublinear tf, min_df 2); LogisticRegression (C 4 for text, as bench.train)
  or Ridge for a number output;
- `hgb`: HistGradientBoosting (classifier or regressor) on ordinal-coded categories (native
  categorical support) and raw numbers; tabular only.
Inputs reach the pipeline as a DataFrame with missing categories/text as "" and numbers as float
(`frame_for`), the same arrays the ONNX route is fed, so both routes see identical inputs.

The child fits (→ "trained" mark: wall time and peak RSS up to here), scores the test rows,
converts each pipeline with skl2onnx (zipmap off; checked against scikit-learn on the test rows),
writes them as <workdir>/sklearn-<system>/<output>.onnx, and times pipeline.predict_proba /
predict and onnxruntime session.run (1 thread) on 1 and 1,000 rows.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ort_session, python_path, time_median
from bench.peers.children import mark_trained, run_child
from bench.peers.rows import metrics, tile_rows

SYSTEMS = {"linear": "sklearn LogisticRegression / Ridge (one-hot, TF-IDF)", "hgb": "sklearn HistGradientBoosting"}


def frame_for(df, columns: dict[str, str]):
    """The pipeline's input: categories/binaries/text as str ("" for missing), numbers as float64."""
    import pandas as pd

    return pd.DataFrame(
        {c: (df[c].astype(float) if t == "number" else df[c].fillna("").astype(str)) for c, t in columns.items()}
    )


def build(system: str, columns: dict[str, str], out_type: str):
    """An unfitted pipeline for one output."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    nums = [c for c, t in columns.items() if t == "number"]
    cats = [c for c, t in columns.items() if t in ("category", "binary")]
    texts = [c for c, t in columns.items() if t == "text"]
    if system == "linear":
        parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)] if nums else []
        parts += [("cat", OneHotEncoder(handle_unknown="ignore"), cats)] if cats else []
        parts += [(f"text_{c}", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), c) for c in texts]
        head = Ridge() if out_type == "number" else LogisticRegression(C=4.0 if texts else 1.0, max_iter=1000)
        return make_pipeline(ColumnTransformer(parts), head)
    if texts:
        raise ValueError("hgb: no text baseline (TF-IDF + LogisticRegression is the text baseline)")
    pre = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1),
                cats,
            ),
            ("num", "passthrough", nums),
        ],
        verbose_feature_names_out=False,
    )
    mask = [True] * len(cats) + [False] * len(nums)
    head = (HistGradientBoostingRegressor if out_type == "number" else HistGradientBoostingClassifier)(
        categorical_features=mask, random_state=0
    )
    return make_pipeline(pre, head)


def _predict(pipe, x, o) -> Any:
    if o.type == "binary":
        return pipe.predict_proba(x)[:, list(pipe.classes_).index(o.positive)]
    return pipe.predict(x)


def child(spec: dict) -> None:
    import pandas as pd

    from bench.peers.datasets import Output

    outputs = [Output(**o) for o in spec["outputs"]]
    columns = spec["columns"]
    df = pd.read_csv(spec["csv"])
    fit, test = df[df["split"].isin(["train", "validation"])], df[df["split"] == "test"].reset_index(drop=True)
    x_fit = frame_for(fit, columns)
    pipes = {}
    for o in outputs:
        y = fit[o.name].astype(float) if o.type == "number" else fit[o.name].astype(str)
        pipes[o.name] = build(spec["system"], columns, o.type).fit(x_fit, y)
    mark_trained()
    x_test = frame_for(test, columns)
    result: dict[str, Any] = {
        "event": "result",
        "metrics": metrics(outputs, test, {o.name: _predict(pipes[o.name], x_test, o) for o in outputs}),
    }

    # the do-it-yourself deployment: skl2onnx, checked against scikit-learn, then onnxruntime
    sessions, lat = {}, {"pipeline": {}, "skl2onnx": {}}
    try:
        t0 = time.perf_counter()
        sessions, result["skl2onnx_max_diff"] = convert(pipes, outputs, columns, x_test, Path(spec["out"]))
        result["convert_s"] = round(time.perf_counter() - t0, 3)
    except Exception as e:  # noqa: BLE001 - a failed conversion is a result, reported with its message
        result["skl2onnx_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:400]}"
    for n in (1, 1000):
        rows = tile_rows(x_test, n)
        lat["pipeline"][str(n)] = time_median(
            lambda: [_predict(pipes[o.name], rows, o) for o in outputs], spec["latency_runs"], spec["budget_s"]
        )
        if sessions:
            feed = onnx_feed(rows, columns)
            lat["skl2onnx"][str(n)] = time_median(
                lambda: [s.run(None, feed) for s in sessions.values()], spec["latency_runs"], spec["budget_s"]
            )
    result["latency"] = {k: v for k, v in lat.items() if v}
    result["onnx_files"] = {k: str(Path(spec["out"]) / f"{k}.onnx") for k in sessions}
    print(json.dumps(result), flush=True)


def onnx_feed(x, columns: dict[str, str]) -> dict[str, Any]:
    """{column: [N, 1] array}: float32 numbers, strings otherwise (x from frame_for)."""
    import numpy as np

    return {
        c: (x[c].to_numpy(np.float32) if t == "number" else x[c].to_numpy(object)).reshape(-1, 1)
        for c, t in columns.items()
    }


def _coerce_int_lists() -> None:
    """Work around skl2onnx 1.20 + numpy 2: tree converters pass attribute lists mixing np.uint32 and int,
    which onnx.helper.make_attribute rejects ("Unable to create node 'TreeEnsemble…'"). Lists of numpy
    integers become lists of int before the node is made; nothing else changes."""
    import numbers

    from skl2onnx.common import _container

    if getattr(_container.make_node, "_peers_patched", False):
        return
    original = _container.make_node

    def make_node(*args, **attrs):
        for k, v in attrs.items():
            if isinstance(v, list) and v and all(isinstance(x, numbers.Integral) for x in v):
                attrs[k] = [int(x) for x in v]
        return original(*args, **attrs)

    make_node._peers_patched = True
    _container.make_node = make_node


def convert(pipes, outputs, columns, x_test, out: Path) -> dict:
    import numpy as np
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    _coerce_int_lists()
    out.mkdir(parents=True, exist_ok=True)
    types = [
        (c, FloatTensorType([None, 1]) if t == "number" else StringTensorType([None, 1])) for c, t in columns.items()
    ]
    feed, sessions, checks = onnx_feed(x_test, columns), {}, {}
    for o in outputs:
        pipe = pipes[o.name]
        options = {id(pipe): {"zipmap": False}} if o.type != "number" else {}
        for _, step, _ in pipe[0].transformers_:  # TF-IDF: onnxruntime needs a locale this machine has
            if type(step).__name__ == "TfidfVectorizer":
                options[id(step)] = {"locale": "C.UTF-8"}
        onx = to_onnx(pipe, initial_types=types, options=options)
        path = out / f"{o.name}.onnx"
        tmp = path.with_suffix(".onnx.tmp")
        tmp.write_bytes(onx.SerializeToString())
        tmp.replace(path)
        sess = ort_session(str(path))
        got = sess.run(None, feed)
        if o.type == "binary":
            d = np.abs(got[1][:, list(pipe.classes_).index(o.positive)] - _predict(pipe, x_test, o)).max()
        elif o.type == "category":
            d = float(np.mean(got[0].ravel().astype(str) != pipe.predict(x_test).astype(str)))
        else:
            want = pipe.predict(x_test)
            d = np.abs(got[0].ravel() - want).max() / max(1.0, np.abs(want).max())
        checks[o.name] = float(d)
        if d > 0.2:
            raise ValueError(f"{o.name}: skl2onnx answers differ from scikit-learn's by {d:.2e}")
        sessions[o.name] = sess
    return sessions, checks


def run(prep, system: str, workdir: Path, timeout: float, latency_runs: int, budget_s: float = 4.0) -> dict:
    """Parent side: one child process per system; the result row."""
    out = workdir / f"sklearn-{system}"
    spec = {
        "csv": str(prep.csv),
        "columns": prep.columns,
        "system": system,
        "out": str(out),
        "outputs": [vars(o) for o in prep.outputs],
        "latency_runs": latency_runs,
        "budget_s": budget_s,
    }
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = workdir / f"sklearn-{system}.json"
    spec_path.write_text(json.dumps(spec))
    r = run_child(
        [sys.executable, "-m", "bench.peers.sklearn_system", str(spec_path)], timeout, {"PYTHONPATH": python_path()}
    )
    result: dict[str, Any] = {
        "system": SYSTEMS[system],
        "family": "sklearn",
        "config": system,
        "train_wall_s": r["train_wall_s"],
        "peak_rss_mb": r["peak_rss_mb"],
    }
    if "error" in r or not r["result"]:
        result["error"] = r.get("error", "no result line")
        return result
    res = {k: v for k, v in r["result"].items() if k != "event"}
    result.update(res)
    return result


if __name__ == "__main__":
    child(json.loads(Path(sys.argv[1]).read_text()))
