"""scikit-learn estimators over tk: TkClassifier and TkRegressor.

    from toolkit.sklearn import TkClassifier
    clf = TkClassifier(epochs=30).fit(X_train, y_train)     # X: a DataFrame or a numeric array
    clf.predict_proba(X_test)                               # columns in the order of clf.classes_
    clf.save("runs/clf")                                    # a model directory `tk predict` reads
    clf.onnx_bytes_                                         # the one-file model (pre + model + post)

They follow scikit-learn's rules, so Pipeline, cross_val_score, GridSearchCV
and clone work: `__init__` stores its parameters, `fit` learns, learned
attributes end in `_`. A fit is `toolkit.api.train` on a config built from

  - `config` (a YAML path or a dict; optional): its input features, if any,
    are used as they are; else each column's type is guessed as
    `tk init-config` guesses it (toolkit.config.guess) for a DataFrame, and
    every column is a number for an array (columns x0, x1, …);
  - the output: one feature that receives y, named `target` (a category for a
    classifier, a number for a regressor) unless `config` declares it;
  - the keyword parameters, which win over the config: model_type, epochs,
    learning_rate, batch_size, seed, validation_fraction (rows kept aside for
    early stopping and the best epoch; 0 trains on every row for `epochs`)
    and `overrides` ({"combiner.hidden_size": 32, …}, dotted paths).

A fitted estimator holds the model directory's bytes (`model_files_`, no
torch object inside), so it pickles small and loads without torch: predictions
come from the ONNX file through toolkit.runtime.Predictor (onnxruntime and
numpy), the same bytes `tk predict`, a server or a browser runs. Fitting is
quiet: tk's progress lines are off and its warnings become Python warnings
(TkWarning); `verbose=True` prints them as `tk train` does.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from toolkit.errors import TkError

TARGET = "target"
ONNX = "model.onnx"


class TkWarning(UserWarning):
    """A warning tk gave while fitting (a data-quality note, a fallback it took)."""


def _is_frame(X) -> bool:
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _set_path(data: dict, path: str, value) -> dict:
    """A copy of `data` with the dotted `path` set to `value` (dicts made on the way)."""
    head, _, rest = path.partition(".")
    out = dict(data)
    out[head] = _set_path(dict(out.get(head) or {}), rest, value) if rest else value
    return out


class _TkEstimator(BaseEstimator):
    """What TkClassifier and TkRegressor share; see the module docstring."""

    _output_type = "number"

    def __init__(
        self,
        config=None,
        *,
        model_type=None,
        epochs=None,
        learning_rate=None,
        batch_size=None,
        seed=None,
        validation_fraction=0.1,
        overrides=None,
        verbose=False,
    ):
        self.config = config
        self.model_type = model_type
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.overrides = overrides
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed inside the model, as in `tk train`
        return tags

    # ---- the data ------------------------------------------------------------

    def _frame(self, X, reset: bool):
        """(DataFrame of the input columns, whether X was a DataFrame); sets or checks n_features_in_."""
        import pandas as pd

        named = _is_frame(X) and all(isinstance(c, str) for c in X.columns)  # scikit-learn's feature names
        if named and (reset or hasattr(self, "feature_names_in_")):  # else as an array: x0, x1, …
            validate_data(self, X, reset=reset, skip_check_array=True)
            frame = X.copy()
            if len(frame) == 0:
                raise ValueError(f"0 sample(s) (shape={frame.shape}) while a minimum of 1 is required")
            return frame, True
        arr = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        names = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(arr.shape[1])]
        )
        return pd.DataFrame(arr, columns=names), False

    def _target(self, y):
        """y as a 1-d array, checked as scikit-learn checks it."""
        if y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be passed, but the target y is None.")
        y = column_or_1d(np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy(), warn=True)
        if y.dtype.kind in "fc":
            from sklearn.utils import assert_all_finite

            assert_all_finite(y, input_name="y")
        return y

    def _input_features(self, frame, from_frame: bool, given: list | None) -> list:
        if given:
            return given
        if not from_frame:  # a numeric array: every column a number
            return [{"name": c, "type": "number"} for c in frame.columns]
        from toolkit.config.guess import guess_inputs

        features, skipped = guess_inputs(frame)
        if not features:
            raise ValueError("no column of X can be an input feature: " + "; ".join(skipped))
        return features

    def _build_config(self, frame, from_frame: bool) -> tuple[dict, str]:
        """(config dict, the column that holds y)."""
        from toolkit.config.schema import read_yaml

        if self.config is None:
            data = {}
        elif isinstance(self.config, dict):
            data = dict(self.config)
        else:
            data = read_yaml(self.config)
        data.pop("dataset", None)
        data.pop("hyperopt", None)
        outputs = data.get("output_features") or []
        if len(outputs) > 1:
            raise ValueError(f"config: {len(outputs)} output_features; an estimator predicts one")
        if outputs:
            out = dict(outputs[0])
            column = out.get("column") or out["name"]
        else:
            column = TARGET
            while column in frame.columns:
                column += "_"
            out = {"name": column, "type": self._output_type}
        data["output_features"] = [out]
        data["input_features"] = self._input_features(frame, from_frame, data.get("input_features"))
        for key, path in (
            ("model_type", "model_type"),
            ("epochs", "trainer.epochs"),
            ("learning_rate", "trainer.learning_rate"),
            ("batch_size", "trainer.batch_size"),
            ("seed", "trainer.seed"),
        ):
            if getattr(self, key) is not None:
                data = _set_path(data, path, getattr(self, key))
        vf = float(self.validation_fraction)
        if not 0 <= vf < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction!r} must be in [0, 1)")
        split = {"type": "random", "ratios": [1 - vf, vf, 0.0]}
        if self.seed is not None:
            split["seed"] = self.seed
        data = _set_path(data, "preprocessing.split", split)
        if vf == 0:
            data = _set_path(data, "trainer.early_stop", 0)
        for path, value in (self.overrides or {}).items():
            data = _set_path(data, path, value)
        return data, column

    # ---- fit ---------------------------------------------------------------------

    def _fit(self, frame, from_frame: bool, y):
        """Train on `frame` (from self._frame) with y (the target column's values); sets the fitted state."""
        import json
        import tempfile
        from pathlib import Path

        from toolkit import api
        from toolkit.common import log

        if len(frame) < 2:
            raise ValueError(f"n_samples=1: {type(self).__name__} needs at least 2 samples, got 1 sample")
        if len(y) != len(frame):
            raise ValueError(f"X has {len(frame)} samples but y has {len(y)}")
        data, column = self._build_config(frame, from_frame)
        frame[column] = y
        quiet, handler = log.quiet, log.on_warning
        if not self.verbose:
            log.quiet = True
            log.on_warning = lambda message: warnings.warn(message, TkWarning, stacklevel=2)
        try:
            with tempfile.TemporaryDirectory(prefix="tk-sklearn-") as tmp:
                out = Path(tmp) / "model"
                api.train(data, frame, output=out)
                self.model_files_ = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
        except TkError as e:
            raise ValueError(str(e)) from None
        finally:
            log.quiet, log.on_warning = quiet, handler
        self.onnx_bytes_ = self.model_files_[ONNX]
        self.training_stats_ = json.loads(self.model_files_["training_stats.json"])
        self.output_ = data["output_features"][0]["name"]
        self._predictor = self._make_predictor()
        return self

    def _make_predictor(self):
        from toolkit.runtime.predictor import Predictor

        return Predictor(self.onnx_bytes_, threads=1)

    def _outputs(self, X) -> dict:
        check_is_fitted(self, "model_files_")
        frame, _ = self._frame(X, reset=False)
        try:
            return self._predictor.run(frame)
        except TkError as e:
            raise ValueError(str(e)) from None

    # ---- the one-file model ------------------------------------------------------

    def save(self, path) -> None:
        """Write the model directory (what `tk train -o` writes; `tk predict`, `tk serve` read it)."""
        from pathlib import Path

        from toolkit.runtime.model_dir import check_output_dir, write_model_dir

        check_is_fitted(self, "model_files_")
        check_output_dir(Path(path))
        write_model_dir(Path(path), {k: v for k, v in self.model_files_.items() if k != "manifest.json"})

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_predictor", None)  # an onnxruntime session: rebuilt from onnx_bytes_ on load
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "onnx_bytes_" in state:
            self._predictor = self._make_predictor()


class TkClassifier(ClassifierMixin, _TkEstimator):
    """A tk model as a scikit-learn classifier (see toolkit.sklearn).

    Fitted attributes: classes_ (sorted, y's own values), n_features_in_,
    feature_names_in_ (a DataFrame's columns), model_files_ ({file: bytes} of
    the model directory), onnx_bytes_, training_stats_, output_.
    """

    _output_type = "category"

    def fit(self, X, y):
        """Train on X (DataFrame or numeric array) and y (class labels); returns self."""
        frame, from_frame = self._frame(X, reset=True)
        y = self._target(y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class only ({self.classes_[0]!r}); a classifier needs 2 or more")
        names = [str(c) for c in self.classes_]
        if len(set(names)) < len(names):
            raise ValueError(f"the classes {list(self.classes_)!r} are not distinct as text")
        return self._fit(frame, from_frame, np.array(names, dtype=object)[np.searchsorted(self.classes_, y)])

    def predict_proba(self, X) -> np.ndarray:
        """[n_samples, n_classes] probabilities, columns in the order of classes_."""
        outs = self._outputs(X)
        proba = np.asarray(outs[f"{self.output_}::probabilities"], dtype=np.float64)
        tk_classes = [str(c) for c in self._predictor.classes[self.output_]]
        order = [tk_classes.index(str(c)) for c in self.classes_]
        return proba[:, order]

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row (argmax of predict_proba), as y's own values."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class TkRegressor(RegressorMixin, _TkEstimator):
    """A tk model as a scikit-learn regressor (see toolkit.sklearn).

    Fitted attributes: n_features_in_, feature_names_in_ (a DataFrame's
    columns), model_files_, onnx_bytes_, training_stats_, output_.
    """

    _output_type = "number"

    def fit(self, X, y):
        """Train on X (DataFrame or numeric array) and y (numbers); returns self."""
        frame, from_frame = self._frame(X, reset=True)
        y = self._target(y)
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"y: a regressor needs numbers: {e}") from None
        from sklearn.utils import assert_all_finite

        assert_all_finite(y, input_name="y")
        return self._fit(frame, from_frame, y)

    def predict(self, X) -> np.ndarray:
        """The predicted value of each row (float64)."""
        return np.asarray(self._outputs(X)[f"{self.output_}::value"], dtype=np.float64).reshape(-1)


__all__ = ["TkClassifier", "TkRegressor", "TkWarning"]
