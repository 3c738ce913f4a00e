"""`combiner.ensemble: k` (TabM-mini): k members share the MLP, each with its own ±1 adapter and heads.

Training sees every member ([N, k, …], the mean of their losses); eval mode and the ONNX file see
their mean ([N, …]), so the post graph and the runtimes are those of k = 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from toolkit.config.combiners import ConcatCombinerConfig
from toolkit.nn.combiners import ConcatCombiner

WIDTHS = [1, 4, 3]


def encoded(n: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(n, w, generator=g) for w in WIDTHS]


def table(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": z,
            "colour": colour,
            "y": np.where(x + (colour == "red") > 0.3, "yes", "no"),
            "kind": np.where(z > 0.5, "a", np.where(z < -0.5, "b", "c")),
            "v": 2 * x - z + rng.normal(scale=0.1, size=n),
        }
    )


def config(k: int) -> dict:
    return {
        "input_features": [
            {"name": "x", "type": "number"},
            {"name": "z", "type": "number"},
            {"name": "colour", "type": "category"},
        ],
        "output_features": [
            {"name": "y", "type": "binary"},
            {"name": "kind", "type": "category"},
            {"name": "v", "type": "number"},
        ],
        "combiner": {"type": "concat", "hidden_size": 16, "ensemble": k},
        "trainer": {"epochs": 3, "batch_size": 32},
    }


def test_ensemble_1_is_the_plain_mlp():
    torch.manual_seed(0)
    plain = ConcatCombiner(WIDTHS, ConcatCombinerConfig())
    torch.manual_seed(0)
    one = ConcatCombiner(WIDTHS, ConcatCombinerConfig(ensemble=1))
    assert plain.state_dict().keys() == one.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), one.state_dict().values()))
    assert one(encoded(5)).shape == (5, 64)


def test_members_share_the_mlp_through_sign_adapters():
    combiner = ConcatCombiner(WIDTHS, ConcatCombinerConfig(ensemble=4, hidden_size=8, norm="batch"))
    assert combiner.adapter.shape == (4, sum(WIDTHS))
    assert set(combiner.adapter.detach().unique().tolist()) <= {-1.0, 1.0}
    assert combiner(encoded(5)).shape == (5, 4, 8)
    combiner.eval()
    x = encoded(5)
    member = combiner.mlp(torch.cat(x, dim=1) * combiner.adapter[2])  # member 2 alone
    torch.testing.assert_close(combiner(x)[:, 2], member)


def test_loss_is_the_mean_of_the_members_losses():
    from toolkit.training.loop import total_loss

    class Out:
        class config:
            loss_weight = 1.0

    pred = torch.tensor([[0.5, 1.0, -2.0], [0.0, 3.0, 1.0], [1.0, 1.0, 1.0]])  # [N=3, k=3]
    y = torch.tensor([1.0, float("nan"), 2.0])
    total, _ = total_loss([Out], [torch.nn.MSELoss()], [pred], [y], members=3)
    keep = ~torch.isnan(y)
    per_member = [torch.nn.functional.mse_loss(pred[keep, j], y[keep]) for j in range(3)]
    assert float(total) == pytest.approx(float(torch.stack(per_member).mean()))


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_k4_trains_averages_in_eval_mode_and_exports_with_parity():
    from toolkit import train
    from toolkit.common import log
    from toolkit.export.onnx import export

    log.quiet = True
    data = table()
    one, four = train(config(1), dataset=data), train(config(4), dataset=data)
    assert (one.model.ensemble, four.model.ensemble) == (1, 4)
    x = [
        torch.randn(7, f.output_width()) if f.pre_dtype != "int64" else torch.randint(0, f.n_ids, (7,))
        for f in four.inputs
    ]
    model = four.model
    assert [tuple(o.shape) for o in model.train()(*x)] == [(7, 4), (7, 4, 3), (7, 4)]
    averaged = model.eval()(*x)
    assert [o.shape for o in averaged] == [o.shape for o in one.model.eval()(*x)]  # [7], [7, 3], [7]
    h = model.combiner([enc(t) for enc, t in zip(model.encoders, x)])  # [7, 4, 16]
    for dec, mean in zip(model.decoders, averaged):
        torch.testing.assert_close(dec(h).mean(dim=1), mean)  # the members' mean, not one member
    four.to_onnx()  # the torchscript exporter: the file, parity-checked (raises on a mismatch)
    export(four, exporter="dynamo")  # and the dynamo exporter
    rows = data.head(9)
    pd.testing.assert_frame_equal(
        four.predict(rows), four.predict(rows, engine="torch"), check_dtype=False, rtol=1e-4, atol=1e-5
    )
