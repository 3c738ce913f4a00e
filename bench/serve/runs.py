"""bench.serve's measured runs: every server of a model started at once, then loaded in turns.

bench_model returns, per server, the median round of each (endpoint, concurrency) cell with the
server's CPU (all its processes), the client's and the rest of the machine's.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bench import loadgen
from bench.common import busy_seconds
from serving.process import ServerProcess, cpu_seconds

CONCURRENCY = (1, 8, 32, 64)
# The packages a serving benchmark reports the versions of (bench.common.machine).
PACKAGES = ("bentoml", "onnxruntime", "uvicorn", "httptools", "uvloop", "pydantic", "starlette")


def measure(server: ServerProcess, path: str, body: bytes, concurrency: int, duration: float) -> dict:
    pids = server.all_pids()
    load = os.getloadavg()[0]
    c0, m0 = cpu_seconds(pids), busy_seconds()
    r = loadgen.run("127.0.0.1", server.port, path, body, concurrency, duration)
    server_cpu, busy = cpu_seconds(pids) - c0, busy_seconds() - m0
    others = max(0.0, busy - server_cpu - r["client_cpu_s"])
    r.update(
        path=path,
        load_avg=round(load, 2),
        server_cpu_pct=round(100 * server_cpu / r["wall_s"], 1),
        others_cpu_pct=round(100 * others / r["wall_s"], 1),
        server_cpu_us_per_req=round(1e6 * server_cpu / r["ok"]) if r["ok"] else None,
        client_cpu_us_per_req=round(1e6 * r["client_cpu_s"] / r["ok"]) if r["ok"] else None,
    )
    return r


def bench_model(
    model_dir: Path, configs: list[tuple[int, str]], body: bytes, duration: float, repeats: int, log=print
) -> list[dict]:
    """Start every server of `configs` at once (an idle one costs nothing), then measure them in turn.

    For each concurrency and round the servers take turns, so a neighbour's burst hits them alike;
    each cell reports the round with the median req/s. /predict_bulk (unbatched) does not depend on
    the batching mode, so it is measured on the first server of each worker count only.
    """
    with contextlib.ExitStack() as stack:
        servers = []
        for workers, batching in configs:
            env = {
                "TK_WORKERS": str(workers),
                "TK_BATCHING": batching,
                "BENTOML_HOME": tempfile.mkdtemp(prefix="tk-bench-bentoml-"),
            }
            server = stack.enter_context(ServerProcess(model_dir, env=env, start_timeout=120))
            servers.append({"workers": workers, "batching": batching, "server": server, "samples": {}})
        for s in servers:  # warm-up: BentoML's dispatcher trains on its first requests
            loadgen.run("127.0.0.1", s["server"].port, "/predict", body, 1, 2.0)
            loadgen.run("127.0.0.1", s["server"].port, "/predict_bulk", body, 4, 1.0)
        bulk_on = {}
        for s in servers:
            bulk_on.setdefault(s["workers"], s["batching"])
        cells = [(path, c) for c in CONCURRENCY for path in ("/predict", "/predict_bulk")] + [("/ping", 32)]
        for _ in range(repeats):
            for path, c in cells:
                for s in servers:
                    if path == "/predict_bulk" and bulk_on[s["workers"]] != s["batching"]:
                        continue
                    r = measure(s["server"], path, body if path != "/ping" else b"{}", c, duration)
                    r["batching"] = s["batching"] if path == "/predict" else "none"
                    s["samples"].setdefault((path, c, ""), []).append(r)
                    log(line(s["workers"], r))
        for s in servers:  # BentoML's dispatcher remembers the waits of a burst: c=1 right after c=64
            loadgen.run("127.0.0.1", s["server"].port, "/predict", body, 64, duration)
            r = measure(s["server"], "/predict", body, 1, duration)
            r.update(batching=s["batching"], note="right after a c=64 run")
            s["samples"][("/predict", 1, r["note"])] = [r]
            log(line(s["workers"], r))
    out = []
    for s in servers:
        runs = []
        for samples in s["samples"].values():
            samples = sorted(samples, key=lambda r: r["req_per_s"])
            median = dict(samples[len(samples) // 2])
            median["rounds_req_per_s"] = [r["req_per_s"] for r in samples]
            runs.append(median)
        out.append(
            {
                "workers": s["workers"],
                "env": {"TK_WORKERS": str(s["workers"]), "TK_BATCHING": s["batching"]},
                "runs": runs,
            }
        )
    return out


def line(workers: int, r: dict) -> str:
    """One measured run, as the console shows it."""
    return (
        f"workers={workers} {r.get('batching', ''):7s} {r['path']:13s} c={r['concurrency']:<3d} {r['req_per_s']:8.1f} req/s  "
        f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  "
        f"server {r['server_cpu_pct']:.0f}% CPU ({r['server_cpu_us_per_req']} µs/req)  "
        f"client {r['client_cpu_pct']:.0f}%  others {r['others_cpu_pct']:.0f}%"
        + (f"  [{r['note']}]" if r.get("note") else "")
    )
