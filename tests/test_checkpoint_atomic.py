"""A checkpoint is one unit: its state never pairs with another epoch's tensors (issue 16, item 12).

Each save here fills the model's weights with the epoch number, so a loaded
checkpoint is whole when its weights equal its state's epoch. A save cut
short after the tensors are written (the moment a kill between two renames
used to leave epoch N's weights with epoch N-1's state) is made real by a
directory standing where the save's temp file for state.json goes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from toolkit.errors import TkError
from toolkit.training import checkpoint

FP = "fingerprint-0001"


def live_objects():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    return model, optimizer, torch.Generator().manual_seed(1)


def save_epoch(path: Path, epoch: int, model, optimizer, generator) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(epoch))
    checkpoint.save(
        path,
        epoch=epoch,
        model=model,
        best_state=model.state_dict(),
        optimizer=optimizer,
        schedulers={},
        generator=generator,
        history={"epochs": list(range(1, epoch + 1))},
        since_best=0,
        config_fp=FP,
    )


def weights_epoch(ckpt: dict) -> float:
    values = {float(v.float().mean()) for k, v in ckpt["tensors"].items() if k.startswith("model.")}
    assert len(values) == 1, values
    return values.pop()


def test_a_save_cut_short_after_the_tensors_keeps_the_previous_pair(tmp_path):
    path = tmp_path / "run.checkpoint"
    model, optimizer, generator = live_objects()
    save_epoch(path, 1, model, optimizer, generator)
    blocker = path / f".{checkpoint.STATE}.tmp-{os.getpid()}"
    blocker.mkdir()  # the save of epoch 2 cannot write state.json: it stops right after its tensors
    with pytest.raises(OSError):
        save_epoch(path, 2, model, optimizer, generator)
    blocker.rmdir()
    ckpt = checkpoint.load(path, FP)
    assert ckpt["state"]["epoch"] == 1
    assert weights_epoch(ckpt) == 1.0, "epoch 2's weights were paired with epoch 1's state"

    save_epoch(path, 2, model, optimizer, generator)  # the next save goes through, leaving one tensors file
    ckpt = checkpoint.load(path, FP)
    assert (ckpt["state"]["epoch"], weights_epoch(ckpt)) == (2, 2.0)
    assert sorted(p.name for p in path.iterdir()) == [checkpoint.STATE, "tensors-2.safetensors"]


def test_restore_gives_back_the_saved_objects(tmp_path):
    path = tmp_path / "run.checkpoint"
    model, optimizer, generator = live_objects()
    save_epoch(path, 3, model, optimizer, generator)
    fresh, fresh_opt, fresh_gen = torch.nn.Linear(4, 3), None, torch.Generator()
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01)
    best, history, since_best, epoch = checkpoint.restore(
        checkpoint.load(path, FP), model=fresh, optimizer=fresh_opt, schedulers={}, generator=fresh_gen
    )
    assert epoch == 3 and since_best == 0 and history == {"epochs": [1, 2, 3]}
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    saved, restored = optimizer.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert sorted(saved) == sorted(restored) == [0, 1]
    assert all(torch.equal(saved[i][k], restored[i][k]) for i in saved for k in ("exp_avg", "exp_avg_sq", "step"))
    assert torch.equal(generator.get_state(), fresh_gen.get_state())
    assert set(best) == set(model.state_dict())


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda f: f.write_bytes(f.read_bytes()[:-1] + bytes([f.read_bytes()[-1] ^ 1])), "sha256"),
        (lambda f: f.write_bytes(f.read_bytes() + b"x"), "bytes"),
        (lambda f: f.unlink(), "missing"),
        (lambda f: (f.unlink(), os.symlink("/dev/zero", f)), "symbolic link"),
    ],
)
def test_a_damaged_tensors_file_is_refused(tmp_path, damage, needle):
    path = tmp_path / "run.checkpoint"
    save_epoch(path, 1, *live_objects())
    damage(path / "tensors-1.safetensors")
    with pytest.raises(TkError, match=needle) as info:
        checkpoint.load(path, FP)
    assert "\n" not in str(info.value) and "delete" in str(info.value)


def test_another_config_is_refused_and_no_checkpoint_is_none(tmp_path):
    path = tmp_path / "run.checkpoint"
    assert checkpoint.load(path, FP) is None
    save_epoch(path, 1, *live_objects())
    with pytest.raises(TkError, match="another config"):
        checkpoint.load(path, "another")


def test_sigkill_while_saving_never_mixes_epochs(tmp_path):
    """A process saving epoch after epoch, killed at random moments: every load is one epoch's pair."""
    path = tmp_path / "run.checkpoint"
    saver = textwrap.dedent(f"""
        import sys, torch
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_checkpoint_atomic import live_objects, save_epoch
        model, optimizer, generator = live_objects()
        model = torch.nn.Sequential(*[torch.nn.Linear(256, 256) for _ in range(8)])  # ~2 MB per save
        optimizer = torch.optim.Adam(model.parameters())
        print("ready", flush=True)
        epoch = int(sys.argv[1])
        while True:
            epoch += 1
            save_epoch(Path({str(path)!r}), epoch, model, optimizer, generator)
    """)
    rng, start = random.Random(0), 0
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", saver, str(start)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3 + rng.random() * 0.7)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        ckpt = checkpoint.load(path, FP)
        assert ckpt is not None
        assert weights_epoch(ckpt) == ckpt["state"]["epoch"] > start
        start = ckpt["state"]["epoch"]
