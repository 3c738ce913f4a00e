"""Timing for bench.latency: interleaved medians per route and size, and onnxruntime's profiler.

measure -> {route: {size: {median_us, p10_us, p90_us, runs}}} (bench.common.interleaved); profile ->
per-node, per-op and per-stage (pre / model / post) shares of the full pipeline's kernel time.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np

from bench.common import interleaved, ort_session, summary_us


def measure(routes: dict, sizes, runs: int, rounds: int) -> dict:
    """{route: {size: {median_us, p10_us, p90_us, runs}}}; routes interleaved over `rounds`.

    A route whose entries are numbers (medians in µs measured elsewhere: Node) is reported as it is.
    """
    timed = {r: fns for r, fns in routes.items() if not isinstance(fns[sizes[0]], float)}
    samples = interleaved(timed, runs=lambda n: runs, rounds=rounds, warmup=lambda n: max(20, min(200, runs // 10)))
    result = {}
    for r, fns in routes.items():
        if r in samples:
            result[r] = {n: summary_us(samples[r][n]) for n in sizes}
        else:
            result[r] = {n: {"median_us": fns[n], "runs": runs, "measured_in": "Node.js"} for n in sizes}
    return result


def profile(model_path: Path, columns, n: int, runs: int, stages: dict) -> dict:
    """onnxruntime's profiler on the full pipeline: per-node, per-op and per-stage µs per run."""
    feed = {c: v[:n] for c, v in columns.items()}
    with tempfile.TemporaryDirectory() as tmp:
        sess = ort_session(str(model_path), profile_dir=tmp)
        for _ in range(runs):
            sess.run(None, feed)
        events = json.loads(Path(sess.end_profiling()).read_text())
    nodes, op_of, total = {}, {}, []
    for ev in events:
        if ev.get("cat") == "Node" and ev["name"].endswith("_kernel_time"):
            node = ev["name"][: -len("_kernel_time")]
            nodes[node] = nodes.get(node, 0.0) + ev["dur"]
            op_of[node] = ev.get("args", {}).get("op_name", "?")
        elif ev.get("cat") == "Session" and ev["name"] == "model_run":
            total.append(ev["dur"])
    runs_seen = max(len(total), 1)
    per_node = {k: v / runs_seen for k, v in nodes.items()}
    by_op, by_stage, count = {}, {}, {}
    for k, v in per_node.items():
        by_op[op_of[k]] = by_op.get(op_of[k], 0.0) + v
        feature = re.search(r"\[([^/\]]+)/", k)  # tk names nodes "Op[feature/step]"; the core "model/…"
        stage = "model" if "model/" in k else "post" if feature and feature.group(1) in stages["post"] else "pre"
        by_stage[stage] = by_stage.get(stage, 0.0) + v
        count[stage] = count.get(stage, 0) + 1
    kernels = sum(per_node.values())
    share = lambda us: 100.0 * us / kernels if kernels else 0.0  # noqa: E731
    return {
        "rows": n,
        "runs": runs_seen,
        "nodes": len(per_node),
        "nodes_by_stage": count,
        "model_run_mean_us_profiled": float(np.mean(total)) if total else None,
        "kernels_mean_us_profiled": kernels,
        "by_stage_pct": {k: share(v) for k, v in sorted(by_stage.items(), key=lambda kv: -kv[1])},
        "by_op_pct": {k: share(v) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])},
        "top_nodes": [
            {"node": k, "op": op_of[k], "us_profiled": v, "pct": share(v)}
            for k, v in sorted(per_node.items(), key=lambda kv: -kv[1])[:12]
        ],
    }
