"""tk: declarative training of tabular models, exported as one ONNX file.

    from toolkit import train, load
    model = train("cfg.yaml", "data.csv", output="runs/churn")
    model.predict(df)          # DataFrame of labels and probabilities
    model.evaluate(df)         # {"churn": {"roc_auc": …, …}}
    load("runs/churn")

Imports are lazy: `import toolkit` costs nothing until you call something.
"""

from toolkit.version import __version__

__all__ = ["train", "load", "__version__"]


def __getattr__(name):
    if name in ("train", "load"):
        from toolkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
