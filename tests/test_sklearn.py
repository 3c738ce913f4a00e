"""toolkit.sklearn: scikit-learn's own estimator checks, Pipeline, cross_val_score, GridSearchCV, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.conftest import CHURN
from toolkit.sklearn import TkClassifier, TkRegressor

#: a small, quick network that still learns the checks' blobs and regression data
FAST = dict(epochs=30, learning_rate=0.05, batch_size=32)

#: Checks skipped on purpose, with the reason: none. (scikit-learn itself skips its two array-API
#: checks unless SCIPY_ARRAY_API=1 is set; they test array-API inputs, which tk does not take.)
SKIPPED: dict[str, str] = {}


@parametrize_with_checks([TkClassifier(**FAST), TkRegressor(**FAST)], expected_failed_checks=lambda e: SKIPPED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def churn_frame():
    """800 churn rows: X a DataFrame of mixed types (binary, category, numbers with blanks), y Yes/No."""
    df = pd.read_csv(CHURN / "churn.csv").iloc[:800]
    return df.drop(columns=["churn", "split"]), df["churn"]


def test_dataframe_types_guessed_as_init_config_and_model_file_exposed(churn_frame, tmp_path):
    from toolkit import api

    X, y = churn_frame
    clf = TkClassifier(epochs=3).fit(X, y)
    assert list(clf.classes_) == ["No", "Yes"]
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == X.shape[1]
    types = {f.name: f.type for f in api.load(_saved(clf, tmp_path / "m")).config.input_features}
    assert types["female"] == "binary" and types["contract"] == "category" and types["tenure"] == "number"
    proba = clf.predict_proba(X.iloc[:50])
    assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)
    # the saved directory is a tk model: its predictions equal the estimator's
    tk_pred = api.load(tmp_path / "m").predict(X.iloc[:50])
    assert np.abs(tk_pred["target::probability::Yes"].to_numpy() - proba[:, 1]).max() < 1e-6
    assert clf.onnx_bytes_[:2] == (tmp_path / "m" / "model.onnx").read_bytes()[:2]


def _pickled_modules(blob: bytes) -> set[str]:
    """The modules whose classes or functions a pickle refers to (recorded while it is loaded)."""
    import io

    found: set[str] = set()

    class Spy(pickle.Unpickler):
        def find_class(self, module, name):
            found.add(module)
            return super().find_class(module, name)

    Spy(io.BytesIO(blob)).load()
    return found


def _saved(clf, path):
    clf.save(path)
    return path


def test_pickle_holds_no_torch_object_and_predicts_the_same(churn_frame):
    X, y = churn_frame
    clf = TkClassifier(epochs=2).fit(X, y)
    blob = pickle.dumps(clf)
    assert not [m for m in _pickled_modules(blob) if m.split(".")[0] in ("torch", "onnxruntime")]
    again = pickle.loads(blob)
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_fit_is_quiet_and_tk_warnings_are_python_warnings(capfd):
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(UserWarning, match="no validation rows"):
        TkClassifier(epochs=2, validation_fraction=0.0).fit(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_array_fit_then_dataframe_predict_warns_and_uses_the_positions():
    X, y = _blobs()
    clf = TkClassifier(**FAST).fit(X, y)
    frame = pd.DataFrame(X, columns=["a", "b"])
    with pytest.warns(UserWarning, match="fitted without feature names"):
        assert np.array_equal(clf.predict(frame), clf.predict(X))


def test_in_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs()
    pipe = make_pipeline(StandardScaler(), TkClassifier(**FAST)).fit(X, y)
    assert pipe.score(X, y) > 0.9


def test_cross_val_score():
    from sklearn.model_selection import cross_val_score

    X, y = _blobs()
    scores = cross_val_score(TkClassifier(**FAST), X, y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.85


def test_grid_search_sets_params_and_refits():
    from sklearn.model_selection import GridSearchCV

    X, y = _blobs()
    search = GridSearchCV(TkClassifier(**FAST), {"epochs": [1, 30]}, cv=2).fit(X, y)
    assert search.best_params_ == {"epochs": 30}
    assert search.best_estimator_.training_stats_["epochs"][-1]["epoch"] <= 30


def test_regressor_overrides_reach_the_config():
    import yaml

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=120)
    reg = TkRegressor(epochs=40, learning_rate=0.02, overrides={"combiner.hidden_size": 8}, seed=3).fit(X, y)
    cfg = yaml.safe_load(reg.model_files_["config.yaml"])
    assert cfg["combiner"]["hidden_size"] == 8 and cfg["trainer"]["seed"] == 3
    assert reg.score(X, y) > 0.7
    assert reg.get_params()["overrides"] == {"combiner.hidden_size": 8}


def _blobs():
    from sklearn.datasets import make_blobs

    return make_blobs(n_samples=240, centers=3, random_state=0)
