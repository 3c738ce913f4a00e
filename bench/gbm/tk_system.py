"""tk's GBM path on one benchmark set: tk features → pre graph (onnxruntime) → toolkit.models.gbm.

    r = run_tk_gbm(data, cfg, numbers="tk")   # metrics, times, rounds, one-file parity and latency

Also builds the one file (pre graph + trees + the output's post graph) and times
`session.run` of it and of the trees alone, 1 thread, 1 row and 256 rows.
"""

from __future__ import annotations

import time

import numpy as np

from bench.gbm.scoring import score

BATCHES = (1, 256)


def raw_columns(data, df) -> dict[str, np.ndarray]:
    """Columns as the ONNX file takes them: float32 with NaN, or strings with "" for missing."""
    import pandas as pd

    out = {}
    for c, t in data.types.items():
        if t == "number":
            out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float32)
        else:
            out[c] = df[c].astype(str).where(df[c].notna(), "").to_numpy(object)
    return out


def _raw_number_class():
    from toolkit.features.number import NumberInput

    class RawNumber(NumberInput):
        """Bench-only: the raw float as one column, NaN and ±inf kept (what LightGBM sees directly)."""

        def to_onnx(self, g, raw: str) -> str:
            return g.op(
                "Unsqueeze",
                raw,
                g.const(np.array([1], np.int64), name=f"{self.config.name}/axis"),
                name=f"{self.config.name}/pre",
            )

    return RawNumber


def build_features(data, train, numbers: str):
    from toolkit.features.binary import BinaryInput, BinaryInputConfig, BinaryOutput, BinaryOutputConfig
    from toolkit.features.category import CategoryInput, CategoryInputConfig, CategoryOutput, CategoryOutputConfig
    from toolkit.features.number import NumberInput, NumberInputConfig, NumberOutput, NumberOutputConfig

    number = NumberInput if numbers == "tk" else _raw_number_class()
    raw = raw_columns(data, train)
    inputs = []
    for c, t in data.types.items():
        cls, cfg = {
            "number": (number, NumberInputConfig),
            "binary": (BinaryInput, BinaryInputConfig),
            "category": (CategoryInput, CategoryInputConfig),
        }[t]
        inputs.append(cls(cfg(name=c, type=t)).fit(raw[c]))
    target = train[data.target]
    if data.task == "regression":
        out = NumberOutput(NumberOutputConfig(name=data.target, type="number")).fit(target.to_numpy(np.float32))
    elif data.task == "binary":
        out = BinaryOutput(BinaryOutputConfig(name=data.target, type="binary")).fit(target.astype(str).to_numpy(object))
    else:
        out = CategoryOutput(CategoryOutputConfig(name=data.target, type="category")).fit(
            target.astype(str).to_numpy(object)
        )
    return inputs, out


def _target(data, out, df) -> np.ndarray:
    col = df[data.target]
    return out.encode_target(
        col.to_numpy(np.float32) if data.task == "regression" else col.astype(str).to_numpy(object)
    )


def _session(model):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads, so.log_severity_level = 1, 1, 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _median_ms(session, feeds: dict, repeats: int) -> float:
    for _ in range(10):
        session.run(None, feeds)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def one_file(pre_model, core, out):
    """pre graph + trees + the output's post graph, merged as the exporter merges them."""
    from onnx import compose

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.models.gbm import set_ml_opset

    g = GraphBuilder("post")
    n = out.config.name
    specs = out.to_onnx_post(g, g.input(f"{n}::raw", "float32", None))
    for name, (dtype, shape) in specs.items():
        g.output(name, dtype, shape)
    pre_model, post = set_ml_opset(pre_model), set_ml_opset(g.build())
    inputs = [i.name for i in core.graph.input]
    full = compose.merge_models(pre_model, core, io_map=[(i, i) for i in inputs], prefix2="gbm/")
    return compose.merge_models(full, post, io_map=[(f"gbm/{n}::raw", f"{n}::raw")])


def run_tk_gbm(data, cfg, numbers: str = "tk") -> dict:
    from toolkit.features.pregraph import build_graph
    from toolkit.models.gbm import GbmModel, Layout

    train, val, test = data.part("train"), data.part("validation"), data.part("test")
    start = time.perf_counter()
    inputs, out = build_features(data, train, numbers)
    pre_model = build_graph(inputs)
    pre = _session(pre_model)
    names = [i.name for i in pre_model.graph.input]

    def transform(df):
        raw = raw_columns(data, df)
        return dict(zip([f.config.name for f in inputs], pre.run(None, {c: raw[c] for c in names})))

    p_train, p_val = transform(train), transform(val)
    layout = Layout.of(inputs, p_train)
    x_train, x_val = layout.matrix(p_train), layout.matrix(p_val)
    prep_s = time.perf_counter() - start
    model = GbmModel(cfg).fit(
        x_train, [_target(data, out, train)], x_val, [_target(data, out, val)], outputs=[out], layout=layout
    )
    train_s = time.perf_counter() - start
    (raw,) = model.predict_raw(layout.matrix(transform(test)))
    y = _target(data, out, test)
    keep = np.isfinite(y)
    if data.task == "regression":  # score in the target's units, as the other systems
        y = test[data.target].to_numpy(np.float64)
    pred = out.predict(raw)
    p = pred["value"] if data.task == "regression" else pred["probabilities"]
    if data.task == "binary":
        p = p[:, 1]
    result = {
        "metrics": score(data.task, y[keep].astype(np.int64) if data.task != "regression" else y[keep], p[keep]),
        "train_s": train_s,
        "prep_s": prep_s,
        "rounds": model.stats[out.config.name]["rounds"],
        "columns": layout.n_columns,
    }
    core = model.to_onnx()
    full = one_file(pre_model, core, out)
    result |= _file_checks(data, test, core, full, out, layout, transform, p)
    return result


def _file_checks(data, test, core, full, out, layout, transform, p) -> dict:
    """Parity of the one file with the Python path on the test rows; 1-row and 256-row latency."""
    raw = raw_columns(data, test)
    full_s, core_s = _session(full), _session(core)
    got = dict(zip([o.name for o in full_s.get_outputs()], full_s.run(None, raw)))
    n = out.config.name
    if data.task == "regression":
        diff = float(np.max(np.abs(got[f"{n}::value"] - p) / np.maximum(1.0, np.abs(p))))
    else:
        q = got[f"{n}::probabilities"]
        diff = float(np.max(np.abs((q[:, 1] if data.task == "binary" else q) - p)))
    res = {"file_parity": diff, "file_bytes": len(full.SerializeToString())}
    idx = np.resize(np.arange(len(test)), max(BATCHES))
    for b in BATCHES:
        rows = {c: v[idx[:b]] for c, v in raw.items()}
        pre_rows = transform(test.iloc[idx[:b]])
        core_feeds = {f"{blk.feature}::pre": np.ascontiguousarray(pre_rows[blk.feature]) for blk in layout.blocks}
        repeats = 300 if b == 1 else 60
        res[f"file_ms_{b}"] = _median_ms(full_s, rows, repeats)
        res[f"trees_ms_{b}"] = _median_ms(core_s, core_feeds, repeats)
    return res
