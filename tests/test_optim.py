"""toolkit.nn.optim.LeanAdamW: torch's AdamW arithmetic and state, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import torch


def _train(cls, steps: int = 12):
    """A few clipped, scheduled AdamW steps on a small embedding + MLP; returns (weights, optimizer state)."""
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"emb": torch.nn.Embedding(5, 3), "mlp": torch.nn.Linear(7, 1)})
    opt = cls(model.parameters(), lr=0.01, weight_decay=0.01, foreach=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / 4 if s < 4 else 1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    ids, x, y = torch.randint(0, 5, (64,)), torch.randn(64, 4), torch.randn(64)
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        out = model["mlp"](torch.cat([model["emb"](ids), x], dim=1)).squeeze(-1)
        loss = torch.nn.functional.mse_loss(out, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 4 == 3:
            plateau.step(float(loss.detach()))
    return [p.detach().clone() for p in model.parameters()], opt.state_dict()


def test_lean_adamw_matches_torch_adamw_bit_for_bit():
    from toolkit.nn.optim import _RAW, LeanAdamW

    assert _RAW is not None, "torch's optimizer wrappers changed: toolkit.nn.optim falls back to torch.optim.AdamW"
    lean_w, lean_state = _train(LeanAdamW)
    ref_w, ref_state = _train(torch.optim.AdamW)
    assert all(torch.equal(a, b) for a, b in zip(lean_w, ref_w))
    assert lean_state["param_groups"] == ref_state["param_groups"]
    for idx, st in ref_state["state"].items():
        assert all(torch.equal(lean_state["state"][idx][k], v) for k, v in st.items())


def test_state_dict_round_trip_continues_identically():
    from toolkit.nn.optim import LeanAdamW

    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    opt = LeanAdamW(model.parameters(), lr=0.1, weight_decay=0.0, foreach=True)
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    again = LeanAdamW(model.parameters(), lr=0.5, weight_decay=0.0, foreach=True)
    again.load_state_dict(opt.state_dict())
    assert again.param_groups[0]["lr"] == 0.1
    assert torch.equal(again.state[model.weight]["exp_avg"], opt.state[model.weight]["exp_avg"])


def test_training_steps_do_not_import_torch_dynamo():
    code = (
        "import sys, torch\n"
        "from toolkit.nn.optim import adamw\n"
        "m = torch.nn.Linear(3, 1)\n"
        "o = adamw(m.parameters(), lr=0.01, weight_decay=0.01)\n"
        "s = torch.optim.lr_scheduler.LambdaLR(o, lambda k: 1.0)\n"
        "for _ in range(2):\n"
        "    o.zero_grad(); m(torch.ones(4, 3)).sum().backward(); o.step(); s.step()\n"
        "o.load_state_dict(o.state_dict())\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
