"""GbmModel: one LightGBM booster per output feature, trained on the design matrix.

    model = GbmModel(cfg).fit(x_train, ys_train, x_val, ys_val, outputs, layout, ("churn", "roc_auc"))
    model.predict_raw(x)   # [raw per output]: binary logit [N], category logits [N, C], number z-score [N]
    model.to_onnx()        # `<feature>::pre` inputs → `<output>::raw` outputs (the exporter's core)
    model.state() / GbmModel.from_state(cfg, state)   # JSON; booster model strings inside
    model.importances()    # {output: {input feature: gain}}

Shapes: x float32 [N, F] (matrix.Layout.matrix); ys[i] float32 [N] as the
output's `encode_target` gives it (rows with NaN are left out of that booster).
"""

from __future__ import annotations

import time

import numpy as np

from toolkit.config.gbm import GbmConfig
from toolkit.errors import TkError
from toolkit.models.gbm.matrix import Layout, matrix_onnx
from toolkit.models.gbm.objectives import objective_for
from toolkit.models.gbm.tree_check import check_layout, read_booster
from toolkit.models.gbm.trees import ensemble_onnx, zero_as_missing_onnx, zero_columns

#: ai.onnx.ml opset of the trees graph: TreeEnsemble (with BRANCH_MEMBER) is opset 5.
ML_OPSET = 5
STATE_VERSION = 1
COMBINED = "combined"


def set_ml_opset(model, version: int = ML_OPSET):
    """`model` importing ai.onnx.ml `version` (in place; returned). For the pre and post graphs
    merged with the trees: onnx.compose refuses to join graphs whose ml opsets differ."""
    from toolkit.common.onnxgraph import set_opset

    return set_opset(model, "ai.onnx.ml", version)


class _Booster:
    """One trained booster and what is known about its output.

    `model_str` (LightGBM's text) is checked first (toolkit.models.gbm.tree_check: `trees`), and LightGBM
    loads the text written again from the checked trees, never `model_str` itself."""

    def __init__(
        self,
        name: str,
        type: str,
        n_scores: int,
        model_str: str,
        info: dict,
        *,
        width: int,
        config: GbmConfig,
        where: str = "gbm",
    ):
        import lightgbm as lgb

        self.name, self.type, self.n_scores, self.model_str, self.info = name, type, n_scores, model_str, info
        self.trees = read_booster(
            model_str,
            width=width,
            n_scores=n_scores,
            max_trees=config.num_trees * n_scores,
            max_leaves=config.num_leaves,
            where=f"{where}: booster {name!r}",
        )
        self.booster = lgb.Booster(model_str=self.trees.model_string())


class GbmModel:
    """LightGBM boosters behind tk's pre graph; see the module docstring."""

    def __init__(self, config: GbmConfig):
        self.config = config

    # ---- training --------------------------------------------------------------------------
    def fit(
        self,
        x_train: np.ndarray,
        ys_train: list[np.ndarray],
        x_val: np.ndarray | None,
        ys_val: list[np.ndarray] | None,
        *,
        outputs,
        layout: Layout,
        validation_metric: tuple[str, str] | None = None,
        rounds: list[int] | None = None,
    ) -> "GbmModel":
        """Train one booster per output; early stopping on `validation_metric` (output, metric).

        The booster of the named output stops on that metric; every other output (and all of
        them for ("combined", "loss") or None) stops on its own loss. `rounds` (one per output):
        train exactly that many rounds each, no validation (a refit at the size a first fit found).
        """
        if x_train.shape[1] != layout.n_columns:
            raise TkError(f"gbm: the training matrix has {x_train.shape[1]} columns, the layout {layout.n_columns}")
        self.layout_ = layout
        self.boosters_ = []
        watch_output, watch_metric = validation_metric or (COMBINED, "loss")
        for i, out in enumerate(outputs):
            objective = objective_for(out, i)
            metric = watch_metric if out.config.name == watch_output else "loss"
            yv = None if ys_val is None else ys_val[i]
            self.boosters_.append(
                self._fit_one(
                    objective,
                    metric,
                    x=x_train,
                    y=ys_train[i],
                    x_val=x_val,
                    y_val=yv,
                    rounds=None if rounds is None else rounds[i],
                )
            )
        return self

    def _fit_one(self, objective, metric: str, *, x, y, x_val, y_val, rounds: int | None = None) -> _Booster:
        import lightgbm as lgb

        cfg, name = self.config, objective.name
        keep = np.isfinite(y)
        if not keep.any():
            raise TkError(f"output feature {name!r}: no training row has a target")
        x, y = x[keep], y[keep]
        metric_params, feval = objective.metric(metric)
        params = cfg.lightgbm_params() | objective.params() | metric_params
        train = lgb.Dataset(
            x,
            y,
            weight=objective.weights(y),
            categorical_feature=self.layout_.categorical,
            free_raw_data=True,
            params={"verbosity": -1},
        )
        valid, callbacks = [], []
        if x_val is not None and y_val is not None and np.isfinite(y_val).any() and cfg.early_stop > 0:
            kv = np.isfinite(y_val)
            valid = [lgb.Dataset(x_val[kv], y_val[kv], weight=objective.weights(y_val[kv]), reference=train)]
            callbacks = [lgb.early_stopping(cfg.early_stop, first_metric_only=True, verbose=False)]
        trained = [0]

        def count(env) -> None:
            trained[0] = env.iteration + 1

        start = time.perf_counter()
        booster = lgb.train(
            params,
            train,
            num_boost_round=cfg.num_trees if rounds is None else max(1, rounds),
            valid_sets=valid,
            valid_names=["validation"] if valid else None,
            feval=feval,
            callbacks=callbacks + [count],
        )
        seconds = time.perf_counter() - start
        best = booster.best_iteration or booster.current_iteration()
        score = {k: float(v) for k, v in booster.best_score.get("validation", {}).items()}
        info = {
            "rounds": int(best),
            "rounds_trained": int(trained[0]),
            "early_stop_metric": f"{name}.{metric}",
            "validation": score,
            "train_seconds": round(seconds, 3),
        }
        return _Booster(
            name,
            objective.output.type,
            objective.n_scores,
            booster.model_to_string(num_iteration=best),
            info,
            width=self.layout_.n_columns,
            config=cfg,
        )

    # ---- prediction --------------------------------------------------------------------------
    def predict_raw(self, x: np.ndarray) -> list[np.ndarray]:
        """x float32 [N, F] → per output: float32 [N] (binary logit, number z-score) or [N, C] logits."""
        out = []
        for b in self.boosters_:
            raw = np.asarray(b.booster.predict(x, raw_score=True), dtype=np.float64)
            out.append(
                raw.reshape(len(x), b.n_scores).astype(np.float32)
                if b.n_scores > 1
                else raw.reshape(len(x)).astype(np.float32)
            )
        return out

    def importances(self) -> dict[str, dict[str, float]]:
        """{output: {input feature: total split gain}} (LightGBM's gain, summed over the feature's columns)."""
        return {b.name: self.layout_.per_feature(b.booster.feature_importance("gain")) for b in self.boosters_}

    @property
    def stats(self) -> dict[str, dict]:
        """{output: {rounds, rounds_trained, early_stop_metric, validation, train_seconds}}."""
        return {b.name: dict(b.info) for b in self.boosters_}

    # ---- export --------------------------------------------------------------------------------
    def to_onnx(self, name: str = "tk_gbm"):
        """The core ModelProto: `<feature>::pre` inputs → `<output>::raw` (float32 [N] or [N, C]).

        Opsets are tk's (onnxgraph.OPSETS) with ai.onnx.ml raised to ML_OPSET; the exporter must
        merge it with pre and post graphs that import the same ai.onnx.ml version.
        """
        from toolkit.common.onnxgraph import GraphBuilder

        g = GraphBuilder(name)
        x32 = matrix_onnx(g, self.layout_)
        x = g.op("Cast", x32, name="gbm/double", to=11)  # DOUBLE: LightGBM compares and sums in double
        for b in self.boosters_:
            xb = zero_as_missing_onnx(g, x, zero_columns(b.trees), self.layout_.n_columns, b.name)
            scores = ensemble_onnx(g, xb, b.trees, b.name)
            s32 = g.op("Cast", scores, name=f"{b.name}/float", to=1)
            raw = f"{b.name}::raw"
            if b.n_scores > 1:
                g.op("Identity", s32, name=f"{b.name}/raw", outputs=[raw])
                g.output(raw, "float32", ["N", b.n_scores])
            else:
                g.op(
                    "Squeeze",
                    s32,
                    g.const(np.array([1], np.int64), name=f"{b.name}/axis"),
                    name=f"{b.name}/raw",
                    outputs=[raw],
                )
                g.output(raw, "float32", ["N"])
        return set_ml_opset(g.build(doc="tk gbm core: LightGBM trees"))

    # ---- persistence ---------------------------------------------------------------------------
    def state(self) -> dict:
        """JSON-serialisable: the layout and, per output, LightGBM's model string."""
        return {
            "version": STATE_VERSION,
            "layout": self.layout_.state(),
            "boosters": [
                {"name": b.name, "type": b.type, "n_scores": b.n_scores, "info": b.info, "model": b.model_str}
                for b in self.boosters_
            ],
        }

    @classmethod
    def from_state(cls, config: GbmConfig, state: dict, where: str = "gbm state") -> "GbmModel":
        """The model `state()` wrote; every tree checked (toolkit.models.gbm.tree_check) before LightGBM reads it."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise TkError(f"{where}: version {version!r} is not {STATE_VERSION}; retrain the model with this tk")
        self = cls(config)
        self.layout_ = check_layout(state.get("layout"), where)
        boosters = state.get("boosters")
        if not isinstance(boosters, list) or not all(isinstance(b, dict) for b in boosters):
            raise TkError(f"{where}: 'boosters' is not a list of objects")
        self.boosters_ = []
        for i, b in enumerate(boosters):
            name, n_scores = b.get("name"), b.get("n_scores")
            if not isinstance(name, str) or type(n_scores) is not int or not 1 <= n_scores <= 100_000:
                raise TkError(f"{where}: boosters[{i}] needs a string name and an int n_scores in [1, 100000]")
            self.boosters_.append(
                _Booster(
                    name,
                    b.get("type"),
                    n_scores,
                    b.get("model"),
                    b.get("info") or {},
                    width=self.layout_.n_columns,
                    config=config,
                    where=where,
                )
            )
        return self
