"""TrainedModel: what `train` returns and `load` reads back.

It holds the resolved config, the fitted features, the torch weights and the
exported ONNX file. `predict` and `evaluate` run the ONNX file through
toolkit.runtime.predictor.Predictor by default (the same bytes a server or a browser
runs); `engine="torch"` runs the preprocessing graph + torch model instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from toolkit.common import log
from toolkit.config.schema import Config, render
from toolkit.errors import TkError, shift_row
from toolkit.export.explain import background_json
from toolkit.features import columns as prepare
from toolkit.features.base import known_rows
from toolkit.runtime import model_dir as artifact

ONNX = "model.onnx"
#: The background rows of the attributions (toolkit.export.explain); absent in model dirs of older tk.
EXPLAIN = "explain.json"
#: Files every model directory holds; the core's own files come from its model kind (kind.file_names).
FILES = ["config.yaml", "features.json", "training_stats.json"]
ENGINES = ("onnx", "torch")
CHUNK_ROWS = 100_000


class TrainedModel:
    """A trained model: config, fitted features, core (weights or trees), ONNX file, training stats."""

    def __init__(
        self,
        config: Config,
        inputs,
        outputs,
        model,
        stats: dict,
        *,
        core_files: dict[str, bytes] | None = None,
        onnx: bytes | None = None,
        explain_columns: dict | None = None,
    ):
        """`model`: the core (the torch module for model_type nn, a GbmCore for gbm, an EnsembleCore
        for ensemble: see toolkit.models); or None with `core_files`, the saved bytes it loads from.
        `explain_columns`: the background rows attributions are measured from ({column: [K]}), or None."""
        self.config, self.inputs, self.outputs, self.stats = config, inputs, outputs, stats
        self.explain_columns = explain_columns
        self._model, self._core_files, self._onnx = model, core_files, onnx
        self._pre = self._predictor = None

    @property
    def kind(self):
        """The model kind (toolkit.models.base.ModelKind) of `config.model_type`."""
        from toolkit.models import kind_of

        return kind_of(self.config.model_type)

    # ---- engines -------------------------------------------------------------

    @property
    def model(self):
        """The core behind the pre graph (built from the saved bytes on first use): see __init__."""
        if self._model is None:
            self._model = self.kind.load_core(self.config, self.inputs, self.outputs, self._core_files)
        return self._model

    @property
    def preprocessor(self):
        """The preprocessing graph in onnxruntime (toolkit.features.pregraph.Preprocessor)."""
        if self._pre is None:
            from toolkit.features.pregraph import Preprocessor

            self._pre = Preprocessor(self.inputs, threads=self.config.trainer.threads)
        return self._pre

    @property
    def onnx_bytes(self) -> bytes:
        if self._onnx is None:
            full, report = self.to_onnx()
            log.info(f"model.onnx: {report.summary()}")
            self._onnx = full.SerializeToString()
        return self._onnx

    @property
    def predictor(self):
        """toolkit.runtime.predictor.Predictor over this model's ONNX file."""
        if self._predictor is None:
            from toolkit.runtime.predictor import Predictor

            self._predictor = Predictor(self.onnx_bytes)
        return self._predictor

    def _torch_outputs(self, df, source: str) -> dict[str, np.ndarray]:
        """The same outputs as the ONNX file's, computed by preprocessing graph + torch model."""
        from toolkit.data import tables as data
        from toolkit.export.parity import torch_reference

        data.check_columns(df, prepare.wanted_columns(self.config, False), source)
        return torch_reference(self, prepare.input_columns(self.inputs, df, source, strict=True))

    def outputs_for(self, df, source: str, engine: str = "onnx") -> dict[str, np.ndarray]:
        """{`<output>::label` / `::probabilities` / `::value`: [N, …]} for every row, in chunks."""
        if engine not in ENGINES:
            raise TkError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
        from toolkit.data import tables as data

        data.check_columns(df, prepare.wanted_columns(self.config, False), source)
        from toolkit.features.pregraph import chunk_rows
        from toolkit.runtime.predictor import PredictorError

        def run(start: int) -> dict[str, np.ndarray]:
            part = df.iloc[start : start + step]
            if engine == "torch":
                try:
                    return self._torch_outputs(part, source)
                except TkError as e:  # 'row 3' of this chunk → its row in the file
                    raise TkError(shift_row(str(e), start)) from None
            try:
                return self.predictor.run(part)
            except PredictorError as e:  # rows[i].col → the file's row number (1-based)
                raise TkError(f"{source}: {_file_row(str(e), start)}") from None

        step = min(CHUNK_ROWS, chunk_rows(self.inputs))
        parts = [run(i) for i in range(0, max(len(df), 1), step)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    # ---- the public calls ------------------------------------------------------

    def predict(self, dataset, source: str = "data", engine: str = "onnx"):
        """Predictions for a DataFrame or path: one row per input row, same index.

        Columns per output: `<name>::label` and `<name>::probability::<class>`,
        or `<name>::value` for numbers.
        """
        import pandas as pd

        from toolkit.data import tables as data

        df = data.read_table(dataset)
        source = str(dataset) if not isinstance(dataset, pd.DataFrame) else source
        outs = self.outputs_for(df, source, engine)
        cols: dict[str, np.ndarray] = {}
        for o in self.outputs:
            for key, value in sorted(outs.items()):
                name, _, kind = key.partition("::")
                if name != o.config.name:
                    continue
                if kind == "probabilities":
                    for k, cls in enumerate(o.classes):
                        cols[f"{name}::probability::{cls}"] = value[:, k]
                else:
                    cols[key] = value
        return pd.DataFrame(cols, index=df.index)

    def explain(self, dataset, source: str = "data", classes: bool = False):
        """Attributions per row through model.onnx: columns `<output>::why::<input>`, same index.

        For each output, the row's score (log-odds of a binary output, logit of the top class, value
        of a number output) minus the baseline score, shared among the inputs (Shapley values;
        toolkit.export.explain says how); they add up to that difference. `classes`: also every class's,
        `<output>::why::<class>::<input>` (category and set outputs)."""
        import pandas as pd

        from toolkit.data import tables as data
        from toolkit.runtime.predictor import PredictorError

        df = data.read_table(dataset)
        source = str(dataset) if not isinstance(dataset, pd.DataFrame) else source
        data.check_columns(df, prepare.wanted_columns(self.config, False), source)
        try:
            return self.predictor.explain(df, classes=classes)
        except PredictorError as e:
            raise TkError(f"{source}: {_file_row(str(e), 0)}") from None

    def evaluate(self, dataset, source: str = "data", engine: str = "onnx") -> dict[str, dict[str, float]]:
        """Metrics per output on the rows that have a known target: {"churn": {"roc_auc": …}}."""
        import pandas as pd

        from toolkit.data import tables as data

        df = data.read_table(dataset)
        source = str(dataset) if not isinstance(dataset, pd.DataFrame) else source
        data.check_columns(df, prepare.wanted_columns(self.config, True), source)
        outs = self.outputs_for(df, source, engine)
        result = {}
        for o in self.outputs:
            y = o.encode_target(data.raw_column(df, o.config.source, o.raw_dtype, source))
            keep = known_rows(y)
            if not keep.any():
                raise TkError(f"{source}: column {o.config.source!r}: no row has a known target value")
            if (~keep).sum():
                log.warn(f"{source}: {int((~keep).sum())} row(s) without a known {o.config.name!r} target left out")
            result[o.config.name] = o.score(y[keep], {k: v[keep] for k, v in outs.items()})
        return result

    def to_onnx(self, exporter: str = "torchscript", parity_columns: dict | None = None):
        """The single ONNX file (pre + model + post), parity-checked: (ModelProto, report)."""
        from toolkit.export import onnx as onnx_export

        return onnx_export.export(self, exporter, parity_columns)

    def save(self, path: str | Path, parity_columns: dict | None = None) -> None:
        """Write the model directory atomically (see toolkit.runtime.model_dir), model.onnx included."""
        if self._onnx is None or parity_columns is not None:
            full, report = self.to_onnx(parity_columns=parity_columns)
            log.info(f"model.onnx: {report.summary()}")
            self._onnx = full.SerializeToString()
        state = {
            "inputs": {f.config.name: f.state() for f in self.inputs},
            "outputs": {f.config.name: f.state() for f in self.outputs},
            "raw_inputs": prepare.describe_raw(self.inputs),
        }
        files = {
            "config.yaml": render(self.config).encode(),
            "features.json": json.dumps(state, indent=1).encode(),
            **self.kind.core_files(self.model),
            **({EXPLAIN: background_json(self.explain_columns)} if self.explain_columns else {}),
            "training_stats.json": json.dumps(self.stats, indent=1, default=float).encode(),
            ONNX: self._onnx,
        }
        artifact.write_model_dir(Path(path), files)


def _file_row(message: str, offset: int) -> str:
    """'rows[3].age: …' (0-based in a chunk) → 'row 4: column 'age': …' (1-based in the file)."""
    import re

    m = re.match(r"rows\[(\d+)\]\.([^:]+): (.*)", message, re.S)
    if not m:
        return message
    return f"row {int(m.group(1)) + offset + 1}: column {m.group(2)!r}: {m.group(3)}"
