"""Served req/s and p99 on 127.0.0.1 for tk's BentoML service, `ludwig serve` and a plain BentoML
service around the skl2onnx model, single-row requests, concurrency 1 and 32.

    rows = serve_tk(model_dir, row, duration=5)    # {"c1": {...}, "c32": {...}}

Each server is started on a free port, warmed up for a second, loaded with bench.loadgen's
closed-loop client for `duration` seconds per concurrency, and stopped by its PID (its process group
and every descendant seen). Start-up is bounded by `start_timeout`, every run by `duration`.
Bodies: tk and the plain service take JSON {"rows": [row]}; Ludwig's /predict takes a form
(application/x-www-form-urlencoded, one field per input, "" for a missing value).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import loadgen
from bench.common import ROOT, python_path
from serving.process import ServerProcess

CONCURRENCY = (1, 32)


def load(
    port: int, path: str, body: bytes, concurrency: int, duration: float, content_type: str = "application/json"
) -> dict[str, Any]:
    """bench.loadgen's closed loop with this content type; req/s, p50/p99 ms, errors, load average."""
    r = loadgen.run("127.0.0.1", port, path, body, concurrency, duration, content_type=content_type)
    keep = ("concurrency", "ok", "errors", "error_kinds", "wall_s", "req_per_s", "p50_ms", "p99_ms")
    return {
        **{k: r[k] for k in keep},
        "error_kinds": r["error_kinds"][:3],
        "wall_s": round(r["wall_s"], 2),
        "load_avg": round(os.getloadavg()[0], 2),
    }


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
    env = {
        "PEERS_ONNX": json.dumps(onnx_files),
        "PEERS_COLUMNS": json.dumps(columns),
        "BENTOML_HOME": tempfile.mkdtemp(prefix="peers-bentoml-"),
        "PYTHONPATH": python_path(),
    }

    def cmd(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            "bench.peers.plain_bento_service:PlainOnnxService",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    with ServerProcess(env=env, cmd=cmd, start_timeout=120) as server:
        return _measure(server.port, "/predict", json.dumps({"rows": [row]}).encode(), duration)


def serve_ludwig(python: Path, model_dir: str, row: dict, duration: float) -> dict:
    """Ludwig's own server (ludwig.serve.cli, i.e. `ludwig serve`) through ludwig_runner.py's compat shim."""

    def cmd(port: int) -> list[str]:
        return [str(python), str(ROOT / "bench" / "peers" / "ludwig_runner.py"), "serve", model_dir, str(port)]

    form = urlencode({k: "" if v is None else v for k, v in row.items()}).encode()
    with ServerProcess(cmd=cmd, ready_path="/", start_timeout=180) as server:
        return _measure(server.port, "/predict", form, duration, "application/x-www-form-urlencoded")
