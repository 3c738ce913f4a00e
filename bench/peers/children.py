"""The child processes of the peers benchmark: each system trains in its own, measured from outside.

A system trains in its own child process so that wall time and peak RSS are whole-process
figures. The child prints JSON lines; `{"event": "trained", "t": time.time(), "rss_kib": …}`
marks the end of training, so a child may go on to time predictions without that counting as
training. `run_child` returns the parsed events with the wall time to that mark.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from typing import Any

from bench.common import ROOT, vm_hwm_kib


def mark_trained(**extra) -> None:
    """Child side: print the end-of-training mark (wall clock, this process's peak RSS so far)."""
    print(json.dumps({"event": "trained", "t": time.time(), "rss_kib": vm_hwm_kib(), **extra}), flush=True)


def measure(cmd: list[str], timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Run cmd; wall seconds, peak RSS (KiB, VmHWM polled every 50 ms until exit), exit code, output.

    Killed after `timeout` seconds (returncode -9, `timed_out` True).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        peak, timed_out = 0, False
        while proc.poll() is None:
            peak = max(peak, vm_hwm_kib(proc.pid) or 0)
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                timed_out = True
                proc.wait()
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall,
            "rss_kib": peak,
            "returncode": proc.returncode,
            "timed_out": timed_out,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def run_child(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a system's child; {train_wall_s, peak_rss_mb, events, result, error?}.

    train_wall_s: spawn → the child's "trained" mark (whole process: start-up and imports included),
    or → exit where the child prints no mark. peak_rss_mb: the mark's VmHWM, else the polled one.
    """
    t_spawn = time.time()
    m = measure(cmd, timeout, {**os.environ, **(env or {})})
    events = []
    for line in m["stdout"].splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    mark = next((e for e in events if e.get("event") == "trained"), None)
    out: dict[str, Any] = {
        "train_wall_s": round(mark["t"] - t_spawn, 2) if mark else round(m["wall_s"], 2),
        "peak_rss_mb": round((mark["rss_kib"] if mark else m["rss_kib"]) / 1024, 1),
        "process_wall_s": round(m["wall_s"], 2),
        "returncode": m["returncode"],
        "events": events,
        "result": next((e for e in reversed(events) if e.get("event") == "result"), None),
    }
    if m["returncode"] != 0:
        killed = m["timed_out"]
        tail = (m["stderr"] or m["stdout"]).strip()
        out["error"] = (f"timed out after {timeout:.0f} s; " if killed else f"exit {m['returncode']}; ") + last_error(
            tail
        )
        out["stderr_tail"] = tail[-3000:]
    return out


def last_error(text: str) -> str:
    """The most telling line of a child's stderr: the last exception line, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ("Error" in ln or "Exception" in ln or "error:" in ln) and not ln.startswith("File "):
            return ln[:500]
    return lines[-1][:500] if lines else "(no output)"
