"""Combiners: shapes, the transformer's config checks, determinism and ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from tests.conftest import PENGUINS
from toolkit.config.combiners import ConcatCombinerConfig as ConcatConfig
from toolkit.config.combiners import TransformerCombinerConfig as TransformerConfig
from toolkit.config.schema import load_config
from toolkit.nn.combiners import ConcatCombiner, TransformerBlock, TransformerCombiner

WIDTHS = [1, 4, 3, 8]  # a binary, a piecewise number, two category embeddings


def encoded(n: int, widths=WIDTHS, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, w, generator=g) for w in widths]


# ---- shapes ---------------------------------------------------------------


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 7])
def test_transformer_gives_one_d_token_vector_per_row(num_layers, n):
    cfg = TransformerConfig(num_layers=num_layers, d_token=16, num_heads=4)
    combiner = TransformerCombiner(WIDTHS, cfg)
    out = combiner(encoded(n))
    assert combiner.d_out == 16
    assert out.shape == (n, 16)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("activation", ["reglu", "geglu", "gelu", "relu"])
def test_every_ffn_activation_builds_and_runs(activation):
    combiner = TransformerCombiner(WIDTHS, TransformerConfig(d_token=8, num_heads=2, activation=activation))
    assert combiner(encoded(3)).shape == (3, 8)


def test_one_token_per_feature_plus_cls():
    combiner = TransformerCombiner(WIDTHS, TransformerConfig(d_token=8, num_heads=2))
    tokens = combiner.cls(combiner.tokenizer(encoded(5)))
    assert tokens.shape == (5, 1 + len(WIDTHS), 8)
    assert [p.in_features for p in combiner.tokenizer.projections] == WIDTHS


def test_last_block_computing_only_cls_equals_the_full_block():
    """The last block's CLS-only shortcut changes cost, not the result."""
    torch.manual_seed(0)
    block = TransformerBlock(TransformerConfig(d_token=16, num_heads=4), first=False).eval()
    x = torch.randn(6, 5, 16)
    with torch.no_grad():
        full, cls_only = block(x), block(x, cls_only=True)
    assert cls_only.shape == (6, 1, 16)
    torch.testing.assert_close(cls_only[:, 0], full[:, 0], rtol=0, atol=1e-6)


def test_rows_do_not_see_each_other():
    """Attention runs over a row's features, never across the batch."""
    combiner = TransformerCombiner(WIDTHS, TransformerConfig(d_token=16, num_heads=4)).eval()
    xs = encoded(9)
    with torch.no_grad():
        together = combiner(xs)
        alone = torch.cat([combiner([x[i : i + 1] for x in xs]) for i in range(9)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)


def test_every_parameter_gets_a_gradient():
    combiner = TransformerCombiner(WIDTHS, TransformerConfig(d_token=16, num_heads=4, num_layers=2))
    combiner(encoded(4)).sum().backward()
    dead = [name for name, p in combiner.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert dead == []


def test_concat_takes_the_sum_of_widths():
    combiner = ConcatCombiner(WIDTHS, ConcatConfig(num_layers=0))
    assert combiner.d_out == sum(WIDTHS)
    assert combiner(encoded(3)).shape == (3, sum(WIDTHS))
    combiner = ConcatCombiner(WIDTHS, ConcatConfig(num_layers=2, hidden_size=10))
    assert combiner(encoded(3)).shape == (3, 10)


# ---- config ---------------------------------------------------------------


def _penguins(**combiner) -> dict:
    cfg = yaml.safe_load((PENGUINS / "config.yaml").read_text())
    cfg["dataset"] = str(PENGUINS / "penguins.csv")
    cfg["combiner"] = {"type": "transformer", **combiner}
    return cfg


def test_transformer_defaults_render():
    combiner = load_config(_penguins()).combiner
    assert combiner.type == "transformer"
    assert combiner.d_token % combiner.num_heads == 0


def test_d_token_not_divisible_by_heads_is_a_cli_error_naming_the_yaml_path(tmp_path):
    from toolkit.cli.main import app

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(_penguins(d_token=30, num_heads=8)))
    result = CliRunner().invoke(app, ["train", str(path), "--output", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    stderr = result.stderr
    assert f"{path}: combiner.d_token: 30 is not divisible by combiner.num_heads (8)" in stderr
    assert "Traceback" not in result.output + stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "key, value", [("num_layers", 0), ("d_token", 0), ("num_heads", -1), ("attention_dropout", 1.0)]
)
def test_out_of_range_transformer_keys_name_the_key(tmp_path, key, value):
    from toolkit.cli.main import app

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(_penguins(**{key: value})))
    result = CliRunner().invoke(app, ["config", "render", str(path)])
    assert result.exit_code == 2
    assert f"combiner.{key}" in result.stderr


def test_unknown_transformer_key_suggests_the_right_one(tmp_path):
    from toolkit.cli.main import app

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(_penguins(num_head=4)))
    result = CliRunner().invoke(app, ["config", "render", str(path)])
    assert result.exit_code == 2
    assert "combiner.num_head" in result.stderr and "did you mean 'num_heads'" in result.stderr


# ---- training ---------------------------------------------------------------


def test_transformer_same_seed_gives_bit_identical_weights(tmp_path):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    cfg = _penguins()
    cfg["trainer"]["epochs"] = 3
    train(cfg, output=tmp_path / "a")
    train(cfg, output=tmp_path / "b")
    cfg["trainer"]["seed"] = 43
    train(cfg, output=tmp_path / "c")
    weights = {k: (tmp_path / k / "model.safetensors").read_bytes() for k in "abc"}
    assert weights["a"] == weights["b"]
    assert weights["a"] != weights["c"]


def test_transformer_learns_penguins():
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    model = train(_penguins())
    acc = model.stats["metrics"]["test"]["species"]["accuracy"]
    assert acc >= 0.95, f"penguins test accuracy with the transformer combiner {acc:.4f} < 0.95"


# ---- export -----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_transformer_model_exports_with_a_dynamic_batch_axis(tmp_path):
    """torch.onnx.export(dynamo=True) of a whole TkModel; onnxruntime equals torch for 1 and 37 rows."""
    import onnxruntime as ort

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    cfg = _penguins()
    cfg["trainer"]["epochs"] = 1
    trained = train(cfg)
    model = trained.model.eval()

    def inputs(n: int, seed: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(seed)
        return tuple(
            torch.randint(0, f.n_ids, (n,), generator=g)
            if f.pre_dtype == "int64"
            else torch.rand(n, f.output_width(), generator=g)
            for f in trained.inputs
        )

    batch = torch.export.Dim("batch", min=1)
    example = inputs(3, 0)
    program = torch.onnx.export(
        model,
        example,
        dynamo=True,
        external_data=False,
        verbose=False,
        dynamic_shapes=(tuple({0: batch} for _ in example),),
        input_names=[f.config.name for f in trained.inputs],
    )
    path = tmp_path / "core.onnx"
    program.save(str(path), external_data=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 37):
        xs = inputs(n, n)
        with torch.no_grad():
            expected = model(*xs)[0].numpy()
        got = session.run(None, {f.config.name: x.numpy() for f, x in zip(trained.inputs, xs)})[0]
        assert got.shape == (n, 3)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
