"""The ensemble's text member: TF-IDF of the text inputs' token ids, then one linear model per output.

    <text>::pre (int64 ids [N, L] or [N, 2L]) ─► counts per id (padding 0 ignored) ─► 1 + ln tf
        ─► × idf (the feature's own `idf_`) ─► L2-normalised per row and text input ─► concatenated
        ─► MatMul W + b ─► <output>::raw (binary logit [N], category logits [N, C])

The ids are those the network reads (unigrams, then bigrams with `ngrams: 2`; 1 = unknown word,
counted like a word), so the member needs no vocabulary of its own. Training: scipy sparse rows and
scikit-learn's LogisticRegression (saga, tol 1e-3: 0.1–0.3 s a fit on 10k rows; multinomial for
categories), C picked on the validation rows by the output's own loss from C_GRID (each fit
warm-started from the previous C; the search stops once the loss rose twice), then fitted again on
train + validation with that C when trainer.refit is on. Binary and category outputs only: a config
with another output type (number, set, vector) has no text member. Class weights weigh its training
rows as they weigh the network's loss and LightGBM's rows (a category's `class_weights`, a binary's
positive-class weight); C is still picked by the unweighted validation loss, as the network's epochs are.

In the ONNX file: one standard `TfIdfVectorizer` (mode TF, 1-grams, pool = every id but padding)
per text input, the transform above in plain ops and a MatMul per output; every onnxruntime
(Python, Node, the browser's wasm) runs it. The dense TF row has one float per id (about 40,000
with the default vocabulary), so a batch of B rows holds B × 160 kB while it runs.
"""

from __future__ import annotations

import time

import numpy as np

from toolkit.models.base import raw_name

#: Inverse regularisation strengths tried, smallest first (each fit warm-starts from the previous one).
C_GRID = (0.125, 0.5, 2.0, 8.0, 32.0, 128.0, 512.0)
#: Row norms below this count as zero (an empty, missing or all-unknown text is a zero row).
EPS = 1e-12
KINDS = ("binary", "category")
MAX_ITER = 200
TOL = 1e-3


def text_inputs(inputs) -> list[int]:
    """Positions of the text inputs among `inputs` (fitted features)."""
    return [i for i, f in enumerate(inputs) if f.type == "text"]


def supported(cfg) -> bool:
    """Whether a config gets a text member: a text input, and binary or category outputs only."""
    return any(f.type == "text" for f in cfg.input_features) and all(f.type in KINDS for f in cfg.output_features)


def tfidf_rows(ids: np.ndarray, idf: np.ndarray):
    """scipy CSR [N, V − 1] (column j = id j + 1): sublinear tf × idf, L2-normalised per row, float64."""
    from scipy import sparse

    ids = np.asarray(ids, dtype=np.int64)
    n, v = len(ids), len(idf)
    rows = np.repeat(np.arange(n), ids.shape[1] if ids.ndim == 2 else 0)
    flat = ids.reshape(-1)
    keep = flat > 0
    m = sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], flat[keep] - 1)), shape=(n, v - 1), dtype=np.float64)
    m.sum_duplicates()
    m.data = (1.0 + np.log(m.data)) * np.asarray(idf, dtype=np.float64)[m.indices + 1]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = sparse.diags(1.0 / np.maximum(norms, EPS)) @ m
    return m.tocsr()


def design(idfs: list, pre):
    """scipy CSR [N, Σ (V − 1)]: `tfidf_rows` of each text input's ids (numpy or torch), side by side."""
    from scipy import sparse

    blocks = [tfidf_rows(p.cpu().numpy() if hasattr(p, "cpu") else p, idf) for p, idf in zip(pre, idfs)]
    return sparse.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]


class TextLinear:
    """TF-IDF of the text inputs + one linear head per output, called like the network on the text
    inputs' pre tensors (in the order of `idf`)."""

    def __init__(self, idf: list, heads: list[tuple[np.ndarray, np.ndarray]], kinds: list[str], names: list[str]):
        self.idf = [np.asarray(x, dtype=np.float64) for x in idf]
        self.heads = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in heads]
        self.kinds, self.names = list(kinds), list(names)

    @classmethod
    def of(cls, text_features, outputs, heads) -> "TextLinear":
        return cls(
            [f.idf_ for f in text_features],
            heads,
            [o.type for o in outputs],
            [f.config.name for f in text_features],
        )

    def eval(self) -> "TextLinear":
        return self

    def to(self, device) -> "TextLinear":
        return self

    def matrix(self, pre):
        return design(self.idf, pre)

    def scores(self, x) -> list[np.ndarray]:
        out = []
        for (w, b), kind in zip(self.heads, self.kinds):
            z = np.asarray(x @ w.astype(np.float64)) + b
            out.append((z[:, 0] if kind == "binary" else z).astype(np.float32))
        return out

    def __call__(self, *pre):
        import torch

        return tuple(torch.from_numpy(np.ascontiguousarray(s)) for s in self.scores(self.matrix(pre)))

    def tensors(self) -> dict[str, np.ndarray]:
        """The heads as safetensors entries (the idf is the text features' own state)."""
        out = {}
        for k, (w, b) in enumerate(self.heads):
            out[f"text/{k}/weight"], out[f"text/{k}/bias"] = w, b
        return out

    @classmethod
    def from_tensors(cls, text_features, outputs, tensors: dict) -> "TextLinear":
        heads = [(tensors[f"text/{k}/weight"], tensors[f"text/{k}/bias"]) for k in range(len(outputs))]
        return cls.of(text_features, outputs, heads)

    def to_onnx(self, outputs, pre_shapes: dict[str, list]):
        """`<text>::pre` → `<output>::raw` (opset 20): TfIdfVectorizer, the transform, MatMul + bias."""
        from onnx import TensorProto, helper, numpy_helper

        from toolkit.common.onnxgraph import IR_VERSION

        nodes, inits, parts = [], [], []

        def const(name, value):
            inits.append(numpy_helper.from_array(np.asarray(value), name))
            return name

        one, eps = const("tfidf/one", np.float32(1.0)), const("tfidf/eps", np.float32(EPS))
        axis1 = const("tfidf/axis1", np.array([1], dtype=np.int64))
        for k, (name, idf) in enumerate(zip(self.names, self.idf)):
            v, p = len(idf), f"tfidf/{k}"
            nodes.append(
                helper.make_node(
                    "TfIdfVectorizer",
                    [f"{name}::pre"],
                    [f"{p}/tf"],
                    name=f"{p}/tf",
                    mode="TF",
                    min_gram_length=1,
                    max_gram_length=1,
                    max_skip_count=0,
                    ngram_counts=[0],
                    ngram_indexes=list(range(v - 1)),
                    pool_int64s=list(range(1, v)),
                )
            )
            idf_c = const(f"{p}/idf", idf[1:].astype(np.float32))
            nodes += [
                helper.make_node("Max", [f"{p}/tf", one], [f"{p}/tf1"], name=f"{p}/tf1"),
                helper.make_node("Log", [f"{p}/tf1"], [f"{p}/log"], name=f"{p}/log"),
                helper.make_node("Add", [f"{p}/log", one], [f"{p}/sub"], name=f"{p}/sublinear"),
                helper.make_node("Min", [f"{p}/tf", one], [f"{p}/seen"], name=f"{p}/seen"),
                helper.make_node("Mul", [f"{p}/sub", f"{p}/seen"], [f"{p}/wtf"], name=f"{p}/wtf"),
                helper.make_node("Mul", [f"{p}/wtf", idf_c], [f"{p}/tfidf"], name=f"{p}/tfidf"),
                helper.make_node("ReduceSumSquare", [f"{p}/tfidf", axis1], [f"{p}/sq"], name=f"{p}/sq", keepdims=1),
                helper.make_node("Sqrt", [f"{p}/sq"], [f"{p}/norm"], name=f"{p}/norm"),
                helper.make_node("Max", [f"{p}/norm", eps], [f"{p}/norm_eps"], name=f"{p}/norm_eps"),
                helper.make_node("Div", [f"{p}/tfidf", f"{p}/norm_eps"], [f"{p}/x"], name=f"{p}/l2"),
            ]
            parts.append(f"{p}/x")
        x = parts[0]
        if len(parts) > 1:
            nodes.append(helper.make_node("Concat", parts, ["tfidf/x"], name="tfidf/concat", axis=1))
            x = "tfidf/x"
        outs = []
        for k, (o, (w, b), kind) in enumerate(zip(outputs, self.heads, self.kinds)):
            name = raw_name(o)
            mm, z = f"head/{o.config.name}/matmul", f"head/{o.config.name}/logits"
            nodes.append(helper.make_node("MatMul", [x, const(f"head/{k}/weight", w)], [mm], name=mm))
            if kind == "binary":
                nodes.append(helper.make_node("Add", [mm, const(f"head/{k}/bias", b)], [z], name=z))
                nodes.append(helper.make_node("Squeeze", [z, axis1], [name], name=f"head/{o.config.name}/squeeze"))
                shape = ["N"]
            else:
                nodes.append(helper.make_node("Add", [mm, const(f"head/{k}/bias", b)], [name], name=z))
                shape = ["N", int(w.shape[1])]
            outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        ins = [helper.make_tensor_value_info(f"{n}::pre", TensorProto.INT64, pre_shapes[n]) for n in self.names]
        graph = helper.make_graph(nodes, "tk_text_linear", ins, outs, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        model.ir_version = IR_VERSION
        return model


def _labels(y: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(y)
    return keep, y[keep].astype(np.int64)


def _head(lr, kind: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(W [D, K], b [K]) from a fitted LogisticRegression; classes absent from its rows get a weight 0
    and a bias far below the others (never predicted)."""
    if kind == "binary":
        return lr.coef_.T.astype(np.float32), lr.intercept_.astype(np.float32)
    w = np.zeros((lr.coef_.shape[1], n_classes), dtype=np.float32)
    b = np.full(n_classes, float(lr.intercept_.min()) - 20.0, dtype=np.float32)
    w[:, lr.classes_] = lr.coef_.T
    b[lr.classes_] = lr.intercept_
    return w, b


def _model(c: float, kind: str):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="saga", max_iter=MAX_ITER, tol=TOL, warm_start=True, random_state=0)


def _loss(output, raw: np.ndarray, y: np.ndarray) -> float:
    from toolkit.training.evaluation import score_predictions

    return score_predictions([output], [raw], [y], metrics_for=set())[output.config.name]["loss"]


def sample_weights(output, labels: np.ndarray) -> np.ndarray | None:
    """float64 [N] per row from the output's class weights (category `weights_` per class index, binary
    `pos_weight_` for label 1), None when every row weighs 1; `labels` int64 [N]."""
    if output.type == "binary":
        w = float(getattr(output, "pos_weight_", 1.0) or 1.0)
        return None if w == 1.0 else np.where(labels == 1, w, 1.0)
    weights = getattr(output, "weights_", None)
    return None if not weights else np.asarray(weights, np.float64)[labels]


def _fit_head(lr, x, y: np.ndarray, output) -> tuple[np.ndarray, np.ndarray]:
    """`lr` fitted on the rows of `x` whose target `y` is known; its (W, b) for `output`."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    keep, labels = _labels(y, output.type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(x[keep], labels, sample_weight=sample_weights(output, labels))
    return _head(lr, output.type, 1 if output.type == "binary" else len(output.classes))


def fit(text_features, outputs, train: tuple, validation: tuple) -> tuple[TextLinear, dict]:
    """The member fitted on `train` (pre ids per text input, targets per output), C picked per output
    by its loss on `validation` (same shapes; no rows: the middle of C_GRID). Returns (member, info)."""
    start = time.perf_counter()
    idfs = [f.idf_ for f in text_features]
    x_train = design(idfs, train[0])
    x_val = design(idfs, validation[0]) if len(validation[1]) and len(validation[1][0]) else None
    heads, chosen = [], []
    for o, y_tr, y_va in zip(outputs, train[1], validation[1] if x_val is not None else [None] * len(outputs)):
        lr, best = None, None
        for c in C_GRID if x_val is not None else (C_GRID[len(C_GRID) // 2],):
            lr = lr or _model(c, o.type)
            lr.set_params(C=c)
            head = _fit_head(lr, x_train, y_tr, o)
            loss = _loss(o, TextLinear([], [head], [o.type], []).scores(x_val)[0], y_va) if x_val is not None else 0.0
            if best is None or loss < best[0]:
                best, worse = (loss, c, head), 0
            else:
                worse += 1
                if worse == 2:
                    break
        heads.append(best[2])
        chosen.append({"C": best[1], "validation_loss": best[0]})
    member = TextLinear.of(text_features, outputs, heads)
    return member, {"outputs": chosen, "seconds": round(time.perf_counter() - start, 3)}


def refit(text_features, outputs, rows: tuple, info: dict) -> tuple[TextLinear, dict]:
    """The member again on `rows` (train + validation) with the C `fit` chose per output."""
    start = time.perf_counter()
    x = design([f.idf_ for f in text_features], rows[0])
    heads = [_fit_head(_model(c["C"], o.type), x, y, o) for o, y, c in zip(outputs, rows[1], info["outputs"])]
    refit_info = {"rows": int(x.shape[0]), "C": [c["C"] for c in info["outputs"]]}
    refit_info["seconds"] = round(time.perf_counter() - start, 3)
    return TextLinear.of(text_features, outputs, heads), refit_info
