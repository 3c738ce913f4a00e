"""check_feature: a feature type held to tk's contract (see toolkit.testing for what is checked)."""

from __future__ import annotations

import io
import json
import warnings

from toolkit.errors import TkError

#: a raw training column per raw dtype, when the caller gives none
SAMPLE_FLOATS = [1.0, 2.5, float("nan"), 10.0, -3.0, 7.0, 2.5, 100.0, 0.0, 42.0, 6.0, 18.5]
SAMPLE_STRINGS = ["a", "b", "", "a", "c", "b", "a", "Ünïcödé 日本", "a b", "c", "d", "b"]
TOLERANCE = 1e-5

INPUT_HOOKS = ("accumulator", "state", "from_state", "to_onnx", "output_width", "encoder")
OUTPUT_HOOKS = (
    "accumulator",
    "state",
    "from_state",
    "encode_target",
    "decoder",
    "loss",
    "predict",
    "score",
    "to_onnx_post",
)


class ContractError(TkError):
    """A feature type breaks tk's contract; the message says which type and what it lacks."""


def check_feature(cls, column=None, *, config: dict | None = None, name: str = "x") -> None:
    """Hold feature class `cls` (an InputFeature or OutputFeature subclass) to tk's contract.

    `column`: raw training values (list or array; default a small sample for its raw dtype);
    `config`: keys of its YAML block besides name and type (e.g. {"encoder": {"type": "dense"}}).
    Raises ContractError with one line naming the class and what is wrong; returns None.
    """
    from toolkit.features.base import InputFeature, OutputFeature

    label = f"{getattr(cls, '__name__', cls)!r} (type {getattr(cls, 'type', '?')!r})"
    if not isinstance(cls, type) or not issubclass(cls, (InputFeature, OutputFeature)):
        raise ContractError(f"{label}: not a subclass of toolkit.features.base.InputFeature or OutputFeature")
    try:
        if issubclass(cls, InputFeature):
            _check_input(cls, column, config or {}, name)
        else:
            _check_output(cls, column, config or {}, name)
    except ContractError as e:
        raise ContractError(f"{label}: {e}") from None


# ---- the class --------------------------------------------------------------------------------


def _own(cls, base, hook: str) -> bool:
    return getattr(cls, hook, None) is not getattr(base, hook, None)


def _check_class(cls, base, hooks) -> None:
    from typing import get_args

    from toolkit.features.base import RAW_FLOAT, RAW_STRING, FeatureConfig

    if not isinstance(getattr(cls, "type", None), str) or not cls.type:
        raise ContractError("class attribute `type` (the YAML name) is missing")
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and issubclass(config, FeatureConfig)):
        raise ContractError("class attribute `Config` must be a toolkit.features.base.FeatureConfig subclass")
    field = config.model_fields.get("type")
    if field is None or get_args(field.annotation) != (cls.type,):
        raise ContractError(f"Config needs `type: Literal[{cls.type!r}]`")
    if getattr(cls, "raw_dtype", None) not in (RAW_FLOAT, RAW_STRING):
        got = getattr(cls, "raw_dtype", None)
        raise ContractError(f"raw_dtype must be {RAW_FLOAT!r} or {RAW_STRING!r}, got {got!r}")
    missing = [h for h in hooks if not _own(cls, base, h)]
    if missing:
        raise ContractError(f"does not implement {', '.join(missing)} (toolkit.features.base.{base.__name__})")


def _make(cls, config: dict, name: str):
    from pydantic import ValidationError

    from toolkit.config.messages import describe_error

    try:
        cfg = cls.Config.model_validate({"name": name, "type": cls.type, **config})
    except ValidationError as e:
        raise ContractError(f"config {config!r}: {describe_error(e.errors()[0], cls.Config)}") from None
    return cls(cfg)


def _raw(cls, column):
    from toolkit.data import coerce
    from toolkit.features.base import RAW_FLOAT, np

    if column is None:
        column = SAMPLE_FLOATS if cls.raw_dtype == RAW_FLOAT else SAMPLE_STRINGS
    values = np.asarray(list(column), dtype=object)
    if cls.raw_dtype == RAW_FLOAT:
        return coerce.to_float32(values)[0]
    return coerce.to_strings(values)


def _call(what: str, fn, *args, **kwargs):
    """fn(*args); any exception but a ContractError becomes one naming `what`."""
    try:
        return fn(*args, **kwargs)
    except ContractError:
        raise
    except Exception as e:
        text = str(e).splitlines()[0] if str(e) else ""
        raise ContractError(f"{what} failed: {type(e).__name__}: {text}"[:400]) from None


def _fit_and_round_trip(cls, config, name, col):
    """The fitted feature, after checking the chunked fit and the state's JSON round trip."""
    from toolkit.features.base import Accumulator, np

    f = _make(cls, config, name)
    acc = _call("accumulator()", f.accumulator)
    if not isinstance(acc, Accumulator):
        raise ContractError(f"accumulator() returned {type(acc).__name__}, not a toolkit.features.base.Accumulator")
    fitted = _call("fit(column)", f.fit, col)
    if not isinstance(fitted, cls):
        raise ContractError(f"fit (the accumulator's finish()) returned {type(fitted).__name__}, not the feature")
    state = _call("state()", fitted.state)
    try:
        text = json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ContractError(f"state() is not plain JSON: {e}") from None
    again = _call("from_state(config, state)", cls.from_state, fitted.config, json.loads(text))
    if _call("state() after from_state", again.state) != json.loads(text):
        raise ContractError("from_state(config, state()).state() differs from state() (the JSON round trip)")
    acc = _make(cls, config, name).accumulator()
    for _ in range(acc.passes):
        for part in np.array_split(col, 3):
            _call("accumulator.update(chunk)", acc.update, part)
        acc.end_pass()
    if not _same(json.loads(json.dumps(_call("accumulator.finish()", acc.finish).state())), json.loads(text)):
        raise ContractError("the accumulator over 3 chunks gives another state than fit on the whole column")
    return again


def _same(a, b) -> bool:
    """Equal JSON values, floats within 1e-9 relative (sums over chunks round differently)."""
    import math

    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# ---- inputs -----------------------------------------------------------------------------------


def _check_input(cls, column, config, name):
    from toolkit.features.base import RAW_STRING, InputFeature, np
    from toolkit.features.pregraph import Preprocessor

    _check_class(cls, InputFeature, INPUT_HOOKS)
    if getattr(cls, "pre_dtype", None) not in ("float32", "int64"):
        raise ContractError(f"pre_dtype must be 'float32' or 'int64', got {getattr(cls, 'pre_dtype', None)!r}")
    if cls.tree_input not in ("numeric", "categorical", None) or (cls.tree_input is None and not cls.tree_refusal):
        raise ContractError("tree_input must be 'numeric', 'categorical' or None (then tree_refusal says why)")
    col = _raw(cls, column)
    f = _fit_and_round_trip(cls, config, name, col)
    edges = _call("edge_values()", f.edge_values)
    if len(edges) < 10 or not all(isinstance(v, (str, float, int)) for v in edges):
        raise ContractError("edge_values() must give at least 10 raw values (str, float or int)")
    rows = np.concatenate([col, _raw(cls, edges)])
    if cls.raw_dtype == RAW_STRING:
        rows = rows.astype(object)
    pre = _call(
        "the ONNX graph (to_onnx, run in onnxruntime)", lambda: Preprocessor([f]).transform({f.config.source: rows})
    )
    x = pre[f.config.name]
    if x.shape[:1] != (len(rows),):
        raise ContractError(f"to_onnx gives {x.shape[0] if x.ndim else 'a scalar'} rows for {len(rows)} raw values")
    if x.dtype != np.dtype(cls.pre_dtype):
        raise ContractError(f"to_onnx gives {x.dtype}, pre_dtype says {cls.pre_dtype}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0])
        raise ContractError(f"to_onnx gives NaN or inf for raw value {_show(rows[bad])} (a network cannot take it)")
    alone = Preprocessor([f])
    for i in range(0, len(rows), max(1, len(rows) // 7)):
        one = alone.transform({f.config.source: rows[i : i + 1]})[f.config.name]
        same = np.array_equal(one[0], x[i]) if x.dtype.kind != "f" else np.allclose(one[0], x[i], rtol=1e-6, atol=1e-6)
        if not same:  # (float kernels may round a lone row and a batch apart by an ulp: vectorised Sin)
            raise ContractError(
                f"to_onnx gives raw value {_show(rows[i])} another tensor alone than in a batch "
                "(rows must not depend on each other)"
            )
    if alone.transform({f.config.source: rows[:0]})[f.config.name].shape[0] != 0:
        raise ContractError("to_onnx on zero rows gives rows")
    _check_encoder(f, x)
    field = _call("form_field(sample)", f.form_field, col)
    if not isinstance(field, dict) or "default" not in field:
        raise ContractError("form_field() must return a dict holding 'default'")
    try:
        json.dumps(field)
    except (TypeError, ValueError):
        raise ContractError(f"form_field() is not plain JSON: {field!r}") from None
    if _call("report_hints()", f.report_hints).get("values") not in ("numeric", "categorical", "text"):
        raise ContractError("report_hints()['values'] must be 'numeric', 'categorical' or 'text'")
    miss = _call("missing(column)", f.missing, col)
    if getattr(miss, "dtype", None) != np.dtype(bool) or miss.shape != col.shape:
        raise ContractError("missing(column) must return bool [N]")


def _show(value) -> str:
    """A raw value for a message: nan, 1e+30, 'text' (cut at 40 characters)."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value[:40] + "…" if isinstance(value, str) and len(value) > 40 else value)


def _check_encoder(f, x) -> None:
    """The encoder on the graph's tensor: [N, output_width()], finite; its ONNX export equals torch."""
    import numpy as np
    import torch

    width = _call("output_width()", f.output_width)
    torch.manual_seed(0)
    enc = _call("encoder()", f.encoder)
    if not isinstance(enc, torch.nn.Module):
        raise ContractError(f"encoder() returned {type(enc).__name__}, not a torch.nn.Module")
    enc.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x))
    with torch.no_grad():
        y = _call("the encoder on the graph's tensor", enc, xt)
    if tuple(y.shape) != (len(x), width):
        raise ContractError(
            f"the encoder gives {tuple(y.shape)} for {len(x)} rows; [N, output_width()] is [{len(x)}, {width}]"
        )
    if not torch.isfinite(y).all():
        raise ContractError("the encoder gives NaN or inf on the graph's tensor")
    got = _onnx_run(enc, xt, "the encoder")
    diff = float(np.max(np.abs(got - y.numpy()), initial=0.0))
    if not diff <= TOLERANCE:
        raise ContractError(
            f"the encoder's ONNX export differs from torch by {diff:.2e} (> {TOLERANCE:g}): parity broken"
        )


def _onnx_run(module, x, what: str):
    import onnxruntime as ort
    import torch

    from toolkit.common.onnxgraph import OPSETS

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _call(
            f"exporting {what} to ONNX",
            torch.onnx.export,
            module,
            (x,),
            buffer,
            input_names=["x"],
            output_names=["y"],
            dynamo=False,
            opset_version=OPSETS[""],
            dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
        )
    session = _call(
        f"{what}'s ONNX in onnxruntime", ort.InferenceSession, buffer.getvalue(), providers=["CPUExecutionProvider"]
    )
    return _call(f"{what}'s ONNX in onnxruntime", session.run, None, {"x": x.numpy()})[0]


# ---- outputs ----------------------------------------------------------------------------------


def _check_output(cls, column, config, name):
    import numpy as np
    import onnxruntime as ort
    import torch

    from toolkit.common.onnxgraph import GraphBuilder
    from toolkit.features.base import OutputFeature, known_rows

    _check_class(cls, OutputFeature, OUTPUT_HOOKS)
    names = tuple(getattr(cls, "metric_names", ()))
    if (
        not names
        or getattr(cls, "default_metric", None) not in names + ("loss",)
        or getattr(cls, "importance_metric", None) not in names
    ):
        raise ContractError("metric_names, default_metric and importance_metric (one of metric_names) are needed")
    col = _raw(cls, column)
    f = _fit_and_round_trip(cls, config, name, col)
    y = _call("encode_target(column)", f.encode_target, col)
    if not isinstance(y, np.ndarray) or y.dtype != np.float32 or y.shape[:1] != col.shape or y.ndim > 2:
        raise ContractError("encode_target must give float32 [N] or [N, C]")
    keep = known_rows(y)
    torch.manual_seed(0)
    dec = _call("decoder(d_in=8)", f.decoder, 8)
    h = torch.randn(len(col), 8)
    with torch.no_grad():
        raw = _call("the decoder", dec.eval(), h)
        loss = _call("loss()(output, target)", lambda: f.loss()(raw[torch.from_numpy(keep)], torch.from_numpy(y[keep])))
    if loss.ndim != 0 or not torch.isfinite(loss):
        raise ContractError(f"loss()(output, target) must be a finite scalar, got {loss}")
    raw = raw.numpy().astype(np.float32)
    want = _call("predict(raw)", f.predict, raw)
    g = GraphBuilder("check_post")
    g.input(f"{name}::raw", "float32", None)
    specs = _call("to_onnx_post", f.to_onnx_post, g, f"{name}::raw")
    for out, (dtype, shape) in specs.items():
        g.output(out, dtype, shape)
    session = _call(
        "to_onnx_post's graph in onnxruntime",
        ort.InferenceSession,
        g.build().SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {f"{name}::raw": raw})))
    for key, value in want.items():
        have = got.get(f"{name}::{key}")
        if have is None:
            raise ContractError(f"predict gives {key!r}, to_onnx_post no {name}::{key}")
        value = np.asarray(value)
        if value.dtype == object:
            if (np.asarray(have, dtype=object) != value).any():
                raise ContractError(f"to_onnx_post's {key} differs from predict's: parity broken")
        elif not np.allclose(have, value, atol=TOLERANCE, rtol=TOLERANCE, equal_nan=True):
            diff = float(np.nanmax(np.abs(have.astype(np.float64) - value)))
            raise ContractError(
                f"to_onnx_post's {key} differs from predict's by {diff:.2e} (> {TOLERANCE:g}): parity broken"
            )
    scores = _call("score_raw(y, raw)", f.score_raw, y[keep], raw[keep])
    if not set(scores) <= set(names) or f.importance_metric not in scores:
        raise ContractError(
            f"score gives {sorted(scores)}; it must name only metric_names and hold "
            f"importance_metric {f.importance_metric!r}"
        )
