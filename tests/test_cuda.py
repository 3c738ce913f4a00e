"""Training on `trainer.device: cuda` gives the CPU's test metrics: every example, each combiner, each text
encoder, every input and output type (issue 20). Skipped where torch sees no CUDA device.

Each case trains twice from the same seed, 2 epochs, on cpu and on cuda, and compares the test metrics:
metrics in [0, 1] within 0.005 absolute (or one test row's worth, 1 / test rows, on a split so small that
a single row moves them more: penguins' 69 rows), the others (loss, mae, rmse) within 0.005 relative to the
cpu value. Dropout is set to 0 so the two runs differ only by the devices' arithmetic (the CPU's and the
GPU's random streams for dropout masks differ by design). The cuda runs write a model directory: the
export (model.onnx, float32) and its parity check run after GPU training.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device: torch.cuda.is_available() is False; these tests train with trainer.device: cuda",
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TOL = 0.005
BOUNDED = ("accuracy", "roc_auc", "f1", "r2", "jaccard", "precision", "recall", "average_precision", "ece")


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        same_type = (
            isinstance(v, dict)
            and isinstance(out.get(k), dict)
            and v.get("type", out[k].get("type")) == out[k].get("type")
        )
        out[k] = merge(out[k], v) if same_type else copy.deepcopy(v)  # another `type`: its own keys only
    return out


def example(name: str, extra: dict | None = None, rows: int | None = None) -> tuple[dict, pd.DataFrame]:
    path = EXAMPLES / name / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    df = pd.read_csv(path.parent / cfg.pop("dataset"))
    return merge(cfg, extra or {}), (df.sample(n=rows, random_state=0).reset_index(drop=True) if rows else df)


def all_types(n: int = 3000, seed: int = 0) -> tuple[dict, pd.DataFrame]:
    """Every input type → every output type, the targets following from the inputs."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.uniform(0, 10, n)
    color = rng.choice(["red", "green", "blue"], n)
    flag = rng.random(n) < 0.5
    words = np.where(flag, "a lovely present for my mother", "bought it for the kitchen")
    tags_in = np.array([", ".join(t for t, on in (("x", p > 0), ("y", q > 5))) for p, q in zip(a, b)])
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    vec = [f"{p:.3f} {q:.3f} {p * q:.3f}" for p, q in zip(a, b)]
    series = [" ".join(f"{p + k * 0.1:.2f}" for k in range(int(q) % 6 + 2)) for p, q in zip(a, b)]
    df = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "color": color,
            "flag": flag.astype(str),
            "note": words,
            "tags_in": tags_in,
            "day": days.strftime("%Y-%m-%d"),
            "vec": vec,
            "series": series,
            "y_num": 3 * a + b + rng.normal(scale=0.1, size=n),
            "y_bin": np.where(a + (color == "red") > 0.3, "yes", "no"),
            "y_cat": np.where(b > 6.6, "high", np.where(b > 3.3, "mid", "low")),
            "y_set": [
                ", ".join(t for t, on in (("spicy", q > 6), ("red", c == "red"), ("gift", f)) if on)
                for q, c, f in zip(b, color, flag)
            ],
        }
    )
    cfg = {
        "input_features": [
            {"name": "a", "type": "number"},
            {"name": "b", "type": "number"},
            {"name": "color", "type": "category"},
            {"name": "flag", "type": "binary"},
            {"name": "note", "type": "text", "preprocessing": {"max_length": 8}, "encoder": {"dropout": 0.0}},
            {"name": "tags_in", "type": "set"},
            {"name": "day", "type": "date"},
            {"name": "vec", "type": "vector"},
            {"name": "series", "type": "timeseries"},
        ],
        "output_features": [
            {"name": "y_num", "type": "number"},
            {"name": "y_bin", "type": "binary"},
            {"name": "y_cat", "type": "category"},
            {"name": "y_set", "type": "set"},
        ],
        "preprocessing": {"split": {"type": "random", "ratios": [0.6, 0.2, 0.2], "seed": 1}},
        "combiner": {"type": "concat", "dropout": 0.0},
        "trainer": {"batch_size": 128},
    }
    return cfg, df


NO_DROPOUT_TRANSFORMER = {"type": "transformer", "attention_dropout": 0.0, "ffn_dropout": 0.0, "residual_dropout": 0.0}


def TEXT(enc):
    return {
        "input_features": [
            {
                "name": "review",
                "type": "text",
                "preprocessing": {"punctuation": False, "max_length": 64},
                "encoder": {"dropout": 0.0, **enc},
            }
        ]
    }


CASES = {
    "churn": lambda: example("churn"),
    "reviews": lambda: example(
        "reviews",
        {
            "input_features": [
                {
                    "name": "review",
                    "type": "text",
                    "preprocessing": {"punctuation": False, "ngrams": 2, "max_length": 256},
                    "encoder": {"type": "embed", "dim": 64, "dropout": 0.0},
                }
            ]
        },
    ),
    "diamonds": lambda: example("diamonds"),
    "penguins": lambda: example("penguins", {"combiner": {"dropout": 0.0}}),
    "combiner_transformer": lambda: example("diamonds", {"combiner": NO_DROPOUT_TRANSFORMER}, rows=12_000),
    "text_cnn": lambda: example("reviews", TEXT({"type": "cnn", "filters": 16}), rows=2500),
    "text_transformer": lambda: example("reviews", TEXT({"type": "transformer", "dim": 32}), rows=2500),
    "text_gru": lambda: example("reviews", TEXT({"type": "gru", "hidden_size": 32}), rows=2500),
    "every_type": all_types,
}


def trained(cfg: dict, df: pd.DataFrame, device: str, output=None, epochs: int = 2, **trainer):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    cfg = merge(cfg, {"trainer": {"device": device, "epochs": epochs, **trainer}})
    return train(cfg, df, output=output)


def assert_close(cpu, gpu, tol: float = TOL) -> None:
    test_rows = cpu.stats["data"]["rows_per_split"]["test"]
    bad = []
    for out, metrics in cpu.stats["metrics"]["test"].items():
        for name, a in metrics.items():
            b = gpu.stats["metrics"]["test"][out][name]
            if any(name == m or name.endswith(m) for m in BOUNDED):
                diff, allowed = abs(a - b), max(tol, 1.0 / max(test_rows, 1))
            else:
                diff, allowed = abs(a - b) / max(abs(a), 1e-12), tol
            if not diff <= allowed:
                bad.append(f"{out}.{name}: cpu {a:.5f} cuda {b:.5f} (Δ {diff:.4f} > {allowed:.4f})")
    assert not bad, "; ".join(bad)


@pytest.mark.parametrize("case", list(CASES))
def test_cuda_trains_to_the_cpu_metrics(case, tmp_path):
    cfg, df = CASES[case]()
    cpu = trained(cfg, df, "cpu")
    gpu = trained(cfg, df, "cuda", output=tmp_path / "m")  # export + parity after GPU training
    assert (tmp_path / "m" / "model.onnx").exists()
    assert_close(cpu, gpu)


def test_device_auto_picks_the_gpu():
    from toolkit.training.devices import pick_device

    assert pick_device("auto").type == "cuda"


def test_bf16_keeps_the_metrics_and_exports_float32(tmp_path):
    """trainer.precision: bf16 (autocast) on the diamonds example: metrics near fp32's, model.onnx float32."""
    import onnx

    from toolkit.config.schema import validate_config
    from toolkit.errors import TkError

    cfg, df = example("diamonds")
    try:
        validate_config(merge(cfg, {"trainer": {"precision": "bf16"}}))
    except TkError as e:
        pytest.skip(f"trainer.precision: bf16 not accepted: {e}")
    fp32 = trained(cfg, df, "cuda")
    bf16 = trained(cfg, df, "cuda", output=tmp_path / "m", precision="bf16")
    assert_close(fp32, bf16, tol=0.02)  # bf16 rounds every matmul input to 8 bits of mantissa
    model = onnx.load(str(tmp_path / "m" / "model.onnx"))
    floats = {t.data_type for t in model.graph.initializer} & {onnx.TensorProto.BFLOAT16, onnx.TensorProto.FLOAT16}
    assert not floats, "model.onnx holds bf16/fp16 weights"
