"""Predictor: run an exported tk ONNX file with onnxruntime and numpy only.

    from toolkit.runtime.predictor import Predictor
    p = Predictor("runs/churn/model.onnx")          # or the model directory
    p.predict([{"tenure": 3, "contract": "Month-to-month"}, ...])   # → list of records
    p.predict(df)                                    # → DataFrame, same index

Never imports torch (a test runs it where torch cannot be imported). Inputs
are coerced like training coerced them (toolkit.runtime.cells): numbers may arrive as
ints or numeric strings, string columns accept numbers and booleans; missing
values are None/NaN/""; anything else raises a PredictorError naming the
column, the expected type and the value. Columns the model does not use are
ignored. A DataFrame or dict of columns that lacks a column the model needs
is an error listing them; a record may omit a field, which is then missing
(imputed as training imputed it), as JSON null would be.

A model directory's `model.onnx` is verified against its manifest (sha256)
before onnxruntime reads it (toolkit.runtime.model_dir); a bare .onnx file or bytes are
loaded as they are. Many rows run through the session in chunks of
`chunk_rows` (default 256), so onnxruntime's working memory follows the chunk,
not the call (a text model needs ~0.3 MB per row); after a call of several
chunks the CPU memory arena is shrunk back (`release_memory`), so a worker
does not keep the peak of its largest request.
"""

from __future__ import annotations

import json
import operator
import os
from pathlib import Path

import numpy as np

from toolkit.data.number_lists import ListColumn, by_column
from toolkit.errors import TkError
from toolkit.runtime import explanations
from toolkit.runtime.cells import PredictorError, as_float, as_list_strings, as_strings

FLOAT, STRING = "tensor(float)", "tensor(string)"
CHUNK_ROWS = 256  # rows per session run: measured on the reviews text model, 10k rows in 0.5 s, +100 MB
#: onnxruntime's run option that returns the CPU arena's unused memory after a run
_SHRINK = ("memory.enable_memory_arena_shrinkage", "cpu:0")


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise TkError(
            "device cuda: onnxruntime has no CUDAExecutionProvider here "
            f"(available: {', '.join(available)}); install onnxruntime-gpu or use cpu"
        )
    gpu = ["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []
    return gpu + ["CPUExecutionProvider"]


class Predictor:
    """One onnxruntime session over a tk ONNX file; thread-safe `predict`."""

    def __init__(
        self,
        path: str | os.PathLike | bytes,
        threads: int | None = None,
        device: str = "auto",
        chunk_rows: int = CHUNK_ROWS,
    ):
        """`path`: a .onnx file, a model directory (verified against its manifest), or the file's bytes.

        `chunk_rows`: rows per onnxruntime run; larger inputs run chunk by chunk."""
        import onnxruntime as ort

        if chunk_rows < 1:
            raise ValueError(f"{chunk_rows=} must be ≥ 1")
        if isinstance(path, bytes):
            source, path = path, Path("<bytes>")
        else:
            path = Path(path)
            if path.is_dir():
                from toolkit.runtime import model_dir as artifact

                source = artifact.read_model_dir(path, ["model.onnx"])["model.onnx"]  # TkError if changed
                path = path / "model.onnx"
            elif not path.exists():
                raise TkError(f"{path}: no such ONNX file")
            else:
                source = str(path)
        from toolkit.common.ort_options import session_options

        so = session_options(threads)
        try:
            self.session = ort.InferenceSession(source, so, providers=_providers(device))
        except Exception as e:  # onnxruntime raises its own exception types
            raise TkError(f"{path}: onnxruntime cannot load it: {str(e).splitlines()[0]}") from None
        self.path = path
        self.chunk_rows = chunk_rows
        self._source, self._options, self._explainer = source, so, None  # the explaining session: on first use
        self._shrink = None
        if so.enable_cpu_mem_arena and "CPUExecutionProvider" in self.session.get_providers():
            self._shrink = ort.RunOptions()
            self._shrink.add_run_config_entry(*_SHRINK)
        self.inputs = {i.name: i.type for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs() if not explanations.is_attribution(o.name)]
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = {k: _maybe_json(v) for k, v in meta.items()}
        features = self.metadata.get("tk.features", {})
        self.output_features = features.get("outputs", []) if isinstance(features, dict) else []
        self.classes = {o["name"]: o["classes"] for o in self.output_features if "classes" in o}
        #: column → ListColumn for vector / timeseries inputs (a JSON array or delimited string per row)
        self.list_columns = by_column(
            (i["column"], ListColumn.from_metadata(i["list"]))
            for i in (features.get("inputs", []) if isinstance(features, dict) else [])
            if isinstance(i, dict) and "list" in i and i.get("column") in self.inputs
        )

    # ---- input -------------------------------------------------------------

    def _columns(self, data) -> tuple[dict[str, np.ndarray], int, object]:
        """Normalise a DataFrame, list of records or dict of columns → ({column: array}, N, index)."""
        index = None
        if hasattr(data, "columns") and hasattr(data, "index"):  # a pandas DataFrame, duck-typed
            names, index = list(data.columns), data.index
            get = lambda c: _frame_column(data, c)  # noqa: E731
        elif isinstance(data, dict):
            names = list(data)
            get = lambda c: np.asarray(data[c], dtype=object if not isinstance(data[c], np.ndarray) else None)  # noqa: E731
        elif isinstance(data, (list, tuple)):
            plain = all(type(r) is dict for r in data)
            if not plain and not all(isinstance(r, dict) for r in data):
                bad = next(i for i, r in enumerate(data) if not isinstance(r, dict))
                raise PredictorError(
                    f"rows[{bad}]: expected an object of column values, got {type(data[bad]).__name__}"
                )
            names = list(self.inputs)
            return dict(zip(names, _record_columns(data, names, plain))), len(data), None
        else:
            raise PredictorError(
                f"expected a DataFrame, a list of records or a dict of columns, got {type(data).__name__}"
            )
        missing = [c for c in self.inputs if c not in names]
        n = len(get(names[0])) if names else 0
        if missing:
            raise PredictorError(
                f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                f"(the model needs: {', '.join(self.inputs)})"
            )
        return {c: get(c) for c in self.inputs}, n, index

    def _feed(self, columns: dict[str, np.ndarray], lists_checked: bool = False) -> dict[str, np.ndarray]:
        feed = {}
        for name, values in columns.items():
            if self.inputs[name] == FLOAT:
                feed[name] = as_float(values, name)
            elif name in self.list_columns:
                feed[name] = as_list_strings(values, name, self.list_columns[name], lists_checked)
            else:
                feed[name] = as_strings(values, name)
        return feed

    # ---- output ------------------------------------------------------------

    def run(self, data, *, lists_checked: bool = False) -> dict[str, np.ndarray]:
        """Raw ONNX outputs {`<output>::label` / `::probabilities` / `::value`: array [N, …]}.

        `lists_checked`: every vector / timeseries row was already checked by
        `ListColumn.first_bad` (the server's request schema does it per request), so it is not read again."""
        columns, n, _ = self._columns(data)
        return self._run(columns, n, lists_checked)

    def _run(self, columns: dict[str, np.ndarray], n: int, lists_checked: bool = False) -> dict[str, np.ndarray]:
        if n == 0:  # StringNormalizer fails on 0 rows: answer without running
            return {
                o: np.empty((0, len(self.classes.get(o.split("::")[0], [])) or 0))
                if o.endswith("::probabilities")
                else np.empty(0, dtype=object if o.endswith("::label") else np.float32)
                for o in self.outputs
            }
        feed = self._feed(columns, lists_checked)
        if n <= self.chunk_rows:
            return dict(zip(self.outputs, self.session.run(self.outputs, feed)))
        parts = []
        for start in range(0, n, self.chunk_rows):
            last = start + self.chunk_rows >= n
            part = {name: values[start : start + self.chunk_rows] for name, values in feed.items()}
            parts.append(self.session.run(self.outputs, part, self._shrink if last else None))
        return {name: np.concatenate([p[k] for p in parts]) for k, name in enumerate(self.outputs)}

    def explain(self, data, *, classes: bool = False, lists_checked: bool = False):
        """Attributions per row (toolkit.runtime.explanations; a second session, made on first use): a DataFrame of `<output>::why::<input>` for a
        DataFrame, else [{output: {input: attribution}}]. They add up to the row's score (log-odds, logit of
        the top class, value) minus the baseline score in `self.metadata["tk.explain"]["baseline"]`.
        `classes`: also every class's (category and set outputs), `<output>::why::<class>::<input>`."""
        meta = explanations.info(self.metadata, self.path)
        if self._explainer is None:
            import onnxruntime as ort

            data_bytes = self._source if isinstance(self._source, bytes) else Path(self._source).read_bytes()
            self._explainer = ort.InferenceSession(
                explanations.switched(data_bytes, meta, self.path),
                self._options,
                providers=self.session.get_providers(),
            )
        columns, n, index = self._columns(data)
        players = meta["players"]
        if n == 0:
            out = {
                o.name: np.empty((0, len(players)), np.float32)
                for o in self.session.get_outputs()
                if o.name.endswith(explanations.ATTRIBUTIONS)
            }  # (no per-class columns for no rows)
        else:
            out = explanations.run(
                self._explainer,
                [o.name for o in self.session.get_outputs()],
                self._feed(columns, lists_checked),
                n,
                meta["evaluations"],
                classes,
            )
        if index is not None:
            return explanations.as_table(out, players, index, self.classes)
        return explanations.as_records(out, players, n, self.classes)

    def release_memory(self) -> None:
        """Give the CPU memory arena's unused blocks back to the system (after a large request).

        A one-row run with onnxruntime's arena-shrinkage run option: the arena keeps
        what the row needs and frees the rest. No-op where there is no CPU arena."""
        if self._shrink is not None:
            self.session.run(self.outputs, self._feed(self._columns([{}])[0]), self._shrink)

    def predict(self, data, *, lists_checked: bool = False):
        """Labels, probabilities and values: a DataFrame for a DataFrame, else a list of records.

        DataFrame columns: `<name>::label`, `<name>::probability::<class>`, `<name>::value`.
        Records: {"<name>": {"label": …, "probabilities": {class: p}}} or {"<name>": {"value": …}}.
        `lists_checked`: as for `run`.
        """
        columns, n, index = self._columns(data)
        out = self._run(columns, n, lists_checked)
        if index is not None:
            return self._frame(out, index)
        return self._records(out, n)

    def _frame(self, out: dict[str, np.ndarray], index):
        import pandas as pd

        cols: dict[str, np.ndarray] = {}
        for name, arr in out.items():
            base, _, kind = name.partition("::")
            if kind == "probabilities":
                for k, cls in enumerate(self.classes.get(base, range(arr.shape[1]))):
                    cols[f"{base}::probability::{cls}"] = arr[:, k]
            else:
                cols[name] = arr
        return pd.DataFrame(cols, index=index)

    def _records(self, out: dict[str, np.ndarray], n: int) -> list[dict]:
        by_output: dict[str, tuple[list[str], list[list]]] = {}  # base → (kinds, value lists)
        for name, arr in out.items():
            base, _, kind = name.partition("::")
            classes = self.classes.get(base)
            values = arr.tolist()
            if kind == "probabilities" and classes:
                values = _dicts(classes, values)
            kinds, lists = by_output.setdefault(base, ([], []))
            kinds.append(kind)
            lists.append(values)
        entries = [_dicts(kinds, zip(*lists)) for kinds, lists in by_output.values()]
        bases = list(by_output)
        if len(bases) == 1:
            base = bases[0]
            return [{base: e} for e in entries[0]]
        return [dict(zip(bases, row)) for row in zip(*entries)]


def _maybe_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _frame_column(df, name: str) -> np.ndarray:
    series = df[name]
    if series.dtype == object or series.dtype.kind in "fiub":
        return series.to_numpy()
    return series.to_numpy(dtype=object, na_value=None)


def _record_columns(rows, names: list[str], plain: bool = True) -> list[tuple]:
    """Records → one tuple of values per name (an omitted field reads None, like JSON null).

    `plain`: every record is a dict itself (not a subclass such as defaultdict, whose
    `[key]` would insert the key): then the fast path indexes them all at C level."""
    if not rows:
        return [() for _ in names]
    if len(names) == 1:
        return [tuple(r.get(names[0]) for r in rows)]
    try:
        if not plain:
            raise KeyError
        values = list(map(operator.itemgetter(*names), rows))  # one C-level pass, then a C-level transpose
    except KeyError:  # a record omits a field
        values = [tuple(map(r.get, names)) for r in rows]
    return list(zip(*values))


def _dicts(keys: list, rows) -> list[dict]:
    """`[dict(zip(keys, row)) for row in rows]`, spelled out for one and two keys (3x faster)."""
    if len(keys) == 1:
        (k0,) = keys
        return [{k0: a} for (a,) in rows]
    if len(keys) == 2:
        k0, k1 = keys
        return [{k0: a, k1: b} for a, b in rows]
    return [dict(zip(keys, row)) for row in rows]
