"""The model MLflow logs for a tk run: the one-file model.onnx, its signature and input example.

The onnx flavor is written by mlflow.onnx.save_model (mlflow.onnx.load_model gives back the same
file); the python_function flavor is tk's loader, toolkit.tracking.mlflow_pyfunc, which says why.
"""

from __future__ import annotations

import os

EXAMPLE_ROWS = 5


def log_model(run, model, example, registered_model_name: str | None = None):
    """Log `model` (a TrainedModel) in `run` (toolkit.tracking.mlflow.Run) as `model`; its ModelInfo."""
    import onnx
    from mlflow.models import Model

    from toolkit.version import __version__

    return Model.log(
        artifact_path=None,
        name="model",
        flavor=_TkOnnxFlavor,
        flavor_name="onnx",
        run_id=run.run_id,
        registered_model_name=registered_model_name,
        await_registration_for=0,
        onnx_model=onnx.load_from_string(model.onnx_bytes),
        signature=_signature(model, example),
        input_example=example,
        pip_requirements=_requirements(__version__),
    )


def _requirements(version: str) -> list[str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    reqs = []
    for name in ("onnx", "onnxruntime", "numpy", "pandas"):
        try:
            reqs.append(f"{name}=={installed(name)}")
        except PackageNotFoundError:
            reqs.append(name)
    return reqs + [f"tk-toolkit=={version}"]


class _TkOnnxFlavor:
    """What `Model.log` calls: mlflow.onnx.save_model, then tk's loader as the python_function flavor."""

    __name__ = "onnx"

    @staticmethod
    def save_model(path, mlflow_model, onnx_model, **kwargs):
        import mlflow.onnx
        from mlflow.models.model import MLMODEL_FILE_NAME

        mlflow.onnx.save_model(
            onnx_model,
            path,
            mlflow_model=mlflow_model,
            save_as_external_data=False,
            onnx_execution_providers=["CPUExecutionProvider"],
            **kwargs,
        )
        mlflow_model.flavors["python_function"]["loader_module"] = "toolkit.tracking.mlflow_pyfunc"
        mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))


def _signature(model, example):
    """Inputs typed as the example's columns hold them: floats as double, text as string, anything else
    (integers, booleans, numbers in a text input) as any type, since tk coerces them and MLflow's own
    checks would refuse a blank in an integer column; outputs as `tk predict` gives them."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    from toolkit.runtime.predictor import FLOAT

    predictor = model.predictor
    inputs = []
    for name, kind in predictor.inputs.items():
        dtype = example[name].dtype if name in example else None
        if dtype is not None and dtype.kind == "f":
            inputs.append(ColSpec("double", name))
        elif kind != FLOAT and (dtype is None or dtype.kind == "O" or str(dtype).startswith("str")):
            inputs.append(ColSpec("string", name))
        else:
            inputs.append(ColSpec(AnyType(), name))
    pred = predictor.predict(example)
    outputs = [
        ColSpec("float" if pred[c].dtype == "float32" else "double" if pred[c].dtype.kind == "f" else "string", c)
        for c in pred.columns
    ]
    return ModelSignature(Schema(inputs), Schema(outputs))


def example_rows(model, frame) -> "object":
    """The first EXAMPLE_ROWS rows of the model's input columns (pandas' dtypes kept)."""
    cols = [c for c in model.predictor.inputs if c in frame.columns]
    return frame[cols].head(EXAMPLE_ROWS).reset_index(drop=True)


def test_rows(model, frame, label: str = "data"):
    """The rows of `frame` that training held out as its test split (every row when there are none)."""
    from toolkit.data import readers
    from toolkit.training.rows import read_part

    source = readers.FrameSource(frame, label)
    chunk = next(iter(source.chunks()))
    part = read_part(model.config, model.inputs, model.outputs, chunk, label, whole=True)
    keep = part.split == 2
    if not keep.any():
        return frame
    import pandas as pd

    columns = {c: v[keep] for c, v in part.columns.items()}
    for f in model.outputs:
        columns[f.config.source] = part.raw_targets[f.config.name][keep]
    return pd.DataFrame(columns)
