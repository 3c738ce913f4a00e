"""tk: declarative training of tabular models, exported as one ONNX file.

    from toolkit import train, load
    model = train("cfg.yaml", "data.csv", output="runs/churn")
    model.predict(df)          # DataFrame of labels and probabilities
    model.evaluate(df)         # {"churn": {"roc_auc": …, …}}
    load("runs/churn")

Imports are lazy: `import toolkit` costs nothing until you call something.
"""

import os

# OpenMP threads (LightGBM's, torch's) sleep instead of spinning while they wait: on a shared or small
# machine, spinning made LightGBM 4-30x slower (150 rounds: 111 s against 2.4 s). It only takes effect
# before OpenMP starts, hence here; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from toolkit.version import __version__  # noqa: E402

__all__ = ["train", "load", "__version__"]


def __getattr__(name):
    if name in ("train", "load"):
        from toolkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
