"""The models `python -m bench.latency` times: one BenchModel entry per model in MODELS.

get_model trains a model once into runs/bench/<name> and loads it (bench.infer_speed reuses it).
Each entry names its tk config and data, how the test (and scikit-learn fit) rows
are chosen, the batch sizes timed (1 and 256 rows by default) and a scikit-learn
builder ({tk type: [column]} -> unfitted estimator) for the do-it-yourself peer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.common import ROOT


def onehot_logreg(columns: dict[str, list[str]]):
    """Numbers: mean-impute + standard-scale; every other column one-hot (unknown ignored)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = columns.get("number", [])
    others = [c for t, cols in columns.items() if t != "number" for c in cols]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numbers),
            ("cat", OneHotEncoder(handle_unknown="ignore"), others),
        ]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])


@dataclass(frozen=True)
class BenchModel:
    config: str  # tk config, relative to the repository root
    data: str  # its dataset
    split_column: str = "split"
    test: tuple[str, ...] = ("test",)  # rows timed (the first 1 / 256 of them)
    fit: tuple[str, ...] = ("train", "validation")  # rows the scikit-learn route fits on
    sklearn: Callable | None = onehot_logreg  # builder({tk type: [column]}) → estimator, or None
    sizes: tuple[int, ...] = (1, 256)


MODELS: dict[str, BenchModel] = {
    "churn": BenchModel("examples/churn/config.yaml", "examples/churn/churn.csv"),
    # "reviews": BenchModel("examples/reviews/config.yaml", "examples/reviews/reviews.csv",
    #                       sklearn=tfidf_logreg),   # when the text model lands
}


def get_model(name: str, entry: BenchModel, retrain: bool):
    """Train once into runs/bench/<name> (reused unless `retrain`) and load it: (TrainedModel, model.onnx path)."""
    from toolkit import load, train
    from toolkit.common import log

    out = ROOT / "runs" / "bench" / name
    if retrain or not (out / "model.onnx").exists():
        print(f"[{name}] training {entry.config} → {out.relative_to(ROOT)}", flush=True)
        log.quiet = True
        train(ROOT / entry.config, ROOT / entry.data, output=out)
    return load(out), out / "model.onnx"
