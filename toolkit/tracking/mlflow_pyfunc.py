"""The python_function flavor of a tk model logged to MLflow: its model.onnx through toolkit.runtime.

    model = mlflow.pyfunc.load_model("models:/churn/1")
    model.predict(df)   # the DataFrame `tk predict` writes: <out>::label, <out>::probability::<class>, <out>::value

MLflow's own onnx pyfunc feeds each DataFrame column to onnxruntime as it is,
which a tk file cannot take: pandas' string columns arrive as Arrow arrays,
numbers and missing values in a string input are not coerced, and its
[N, classes] probabilities are flattened into a column of N x classes values.
This loader runs the same model.onnx with toolkit.runtime.Predictor
(onnxruntime and numpy, no torch), which coerces columns as `tk predict` does.
"""

from __future__ import annotations


class TkOnnxModel:
    """What `mlflow.pyfunc.load_model` wraps: predict(DataFrame) → DataFrame."""

    def __init__(self, path: str):
        from toolkit.runtime.predictor import Predictor

        self.predictor = Predictor(path)

    def predict(self, data, params=None):
        """The DataFrame `tk predict` gives for `data` (a DataFrame, a dict of columns or records)."""
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(data)
        return self.predictor.predict(data)

    def get_raw_model(self):
        """The toolkit.runtime.Predictor."""
        return self.predictor


def _load_pyfunc(path: str) -> TkOnnxModel:
    """MLflow's loader hook: `path` is the model's model.onnx."""
    return TkOnnxModel(path)
