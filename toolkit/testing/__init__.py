"""The contract a feature type meets, as one public check (like scikit-learn's `check_estimator`).

    from toolkit.testing import check_feature
    check_feature(CyclicInput)                               # raises ContractError naming what is wrong
    check_feature(CyclicInput, [0, 6.5, 23, float("nan")], config={"preprocessing": {"period": 24}})

Every built-in type passes it (tests/test_feature_contract.py), and `tk train` runs it on every type
a plugin gave before it trains (`refuse_broken_plugins`), on a sample of the training column: a
plugin that misses a hook or whose ONNX graph breaks parity is refused in one line.

An input type is checked for: the class (subclass of InputFeature, `type`, `Config` with
`type: Literal[type]`, `raw_dtype`, `pre_dtype`, the hooks accumulator / state / from_state /
to_onnx / output_width / encoder its own, `tree_input`); fitting (`fit`, and the accumulator over 3
chunks gives the same state); the state's JSON round trip; its ONNX graph in onnxruntime on the
sample plus its `edge_values()` (NaN, ±inf, huge, empty, unicode): one row per row, the declared
dtype, finite, the same rows alone as in a batch, zero rows in → zero rows out; its encoder (torch)
→ [N, output_width()], finite, and its ONNX export equal to torch within 1e-5 (parity); the web
form field, report hints and `missing()`.
An output type: the class and hooks (accumulator, state, from_state, encode_target, decoder, loss,
predict, score, to_onnx_post, metric names); fitting and the JSON round trip; encoded targets; the
decoder's output and a finite loss; `to_onnx_post` in onnxruntime equal to `predict` (labels
identical, numbers within 1e-5); `score` names only `metric_names` and holds `importance_metric`.
A combiner (`check_combiner`): built as `Combiner(widths, config)` with an int `d_out`, [N, w_i] → finite
[N, d_out], its ONNX export equal to torch within 1e-5.
"""

from toolkit.testing.combiners import check_combiner
from toolkit.testing.contract import ContractError, check_feature

__all__ = ["ContractError", "check_combiner", "check_feature"]
