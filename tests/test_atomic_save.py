"""A kill at any moment of saving never leaves a directory that loads wrong:
it loads (the old model or the new one) or says "incomplete model directory"."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from toolkit import load
from toolkit.errors import TkError


def test_sigkill_during_save_leaves_old_new_or_incomplete(churn_model, tmp_path):
    model, src = churn_model
    target = tmp_path / "model"
    load(src).save(target)  # the "old" model
    expected = {(target / "model.onnx").read_bytes()}
    saver = textwrap.dedent(f"""
        import sys
        from toolkit import load, log
        log.quiet = True
        m = load({str(src)!r})
        m.stats["note"] = "new"  # a different training_stats.json, so old and new differ
        while True:
            m.save({str(target)!r})
    """)
    rng = random.Random(0)
    outcomes = {"loaded": 0, "incomplete": 0}
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", saver], stderr=subprocess.DEVNULL)
        time.sleep(2.5 + rng.random() * 1.5)  # import time, then somewhere inside a save loop
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        try:
            loaded = load(target)
            assert (target / "model.onnx").read_bytes() in expected
            assert loaded.stats.get("note") in (None, "new")
            outcomes["loaded"] += 1
        except TkError as e:
            assert "incomplete model directory" in str(e), str(e)
            outcomes["incomplete"] += 1
            previous = sorted(tmp_path.glob(".model.tk-old-*"))
            assert previous, f"a kill left no previous model to recover: {e}"
            os.replace(previous[-1], target)  # recover, as the message says
    print("outcomes after SIGKILL during save:", outcomes)
    assert sum(outcomes.values()) == 6
