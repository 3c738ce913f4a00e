"""Served req/s and p99 on 127.0.0.1 for tk's BentoML service, `ludwig serve` and a plain BentoML
service around the skl2onnx model, single-row requests, concurrency 1 and 32.

    rows = serve_tk(model_dir, row, duration=5)    # {"c1": {...}, "c32": {...}}

Each server is started on a free port, warmed up for a second, loaded with bench/loadgen.py's
closed-loop client for `duration` seconds per concurrency, and stopped by its PID (its process group
and every descendant seen). Start-up is bounded by `start_timeout`, every run by `duration`.
Bodies: tk and the plain service take JSON {"rows": [row]}; Ludwig's /predict takes a form
(application/x-www-form-urlencoded, one field per input, "" for a missing value).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import loadgen
from bench.peers.common import ROOT
from serving.process import ServerProcess, descendants, free_port

CONCURRENCY = (1, 32)


class Server:
    """A command that serves HTTP on 127.0.0.1:port; ready when GET `ready_path` answers 200."""

    def __init__(self, cmd: list[str], port: int, ready_path: str, env: dict | None = None,
                 start_timeout: float = 120.0):
        self.cmd, self.port, self.ready_path, self.start_timeout = cmd, port, ready_path, start_timeout
        self.env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", **(env or {})}
        self.log_path = Path(tempfile.mkstemp(prefix="peers-serve-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()

    def __enter__(self) -> Server:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            self.pids |= descendants(self.proc.pid)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.ready_path)
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"server not ready after {self.start_timeout:.0f} s: {self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        self.pids |= descendants(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        for pid in self.pids | {self.proc.pid}:  # only our own: the group we started, or its descendants
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait(10)
        self._log.close()

    def log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        errors = [ln for ln in lines if "Error" in ln or "error" in ln]
        return (errors or lines or ["(no output)"])[-1][:400]


def load(port: int, path: str, body: bytes, concurrency: int, duration: float,
         content_type: str = "application/json") -> dict[str, Any]:
    """bench/loadgen.py's closed loop with this content type; req/s, p50/p99 ms, errors."""
    payload = loadgen.request_bytes("127.0.0.1", port, path, body)
    payload = payload.replace(b"Content-Type: application/json", f"Content-Type: {content_type}".encode(), 1)
    lat, errors, wall, cpu = asyncio.run(loadgen._run("127.0.0.1", port, payload, concurrency, duration,
                                                      10**9, 10.0, None))
    lat.sort()
    return {"concurrency": concurrency, "ok": len(lat), "errors": len(errors),
            "error_kinds": sorted({str(e) for e in errors})[:3], "wall_s": round(wall, 2),
            "req_per_s": round(len(lat) / wall, 1) if wall else 0.0,
            "p50_ms": round(loadgen.percentile(lat, 50) * 1000, 2),
            "p99_ms": round(loadgen.percentile(lat, 99) * 1000, 2), "load_avg": round(os.getloadavg()[0], 2)}


def _measure(port: int, path: str, body: bytes, duration: float, content_type: str = "application/json") -> dict:
    load(port, path, body, 1, 1.0, content_type)  # warm-up
    out = {f"c{c}": load(port, path, body, c, duration, content_type) for c in CONCURRENCY}
    if not any(r["ok"] for r in out.values()):
        raise RuntimeError(f"every request failed: {out['c1']['error_kinds']}")
    return out


def serve_tk(model_dir: Path, row: dict, duration: float) -> dict:
    """tk's service (serving.service:TkService, its defaults: 1 worker, greedy batching)."""
    body = json.dumps({"rows": [row]}).encode()
    env = {"BENTOML_HOME": tempfile.mkdtemp(prefix="peers-bentoml-")}
    with ServerProcess(model_dir, env=env, start_timeout=120) as server:
        return _measure(server.port, "/predict", body, duration)


def serve_plain(onnx_files: dict[str, str], columns: dict[str, str], row: dict, duration: float) -> dict:
    port = free_port()
    env = {"PEERS_ONNX": json.dumps(onnx_files), "PEERS_COLUMNS": json.dumps(columns),
           "BENTOML_HOME": tempfile.mkdtemp(prefix="peers-bentoml-"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bentoml", "serve", "bench.peers.plain_bento_service:PlainOnnxService",
           "--host", "127.0.0.1", "--port", str(port)]
    with Server(cmd, port, "/readyz", env):
        return _measure(port, "/predict", json.dumps({"rows": [row]}).encode(), duration)


def serve_ludwig(python: Path, model_dir: str, row: dict, duration: float) -> dict:
    """Ludwig's own server (ludwig.serve.cli, i.e. `ludwig serve`) through ludwig_runner.py's compat shim."""
    port = free_port()
    cmd = [str(python), str(ROOT / "bench" / "peers" / "ludwig_runner.py"), "serve", model_dir, str(port)]
    form = urlencode({k: "" if v is None else v for k, v in row.items()}).encode()
    with Server(cmd, port, "/", start_timeout=180):
        return _measure(port, "/predict", form, duration, "application/x-www-form-urlencoded")
