"""bench.latency's report: the machine it ran on, and latency.md from the results dict.

Also holds the figures the report sets the measurements against: the route labels (ROUTES),
earlier reference measurements (REFERENCES, not re-measured) and the targets (TARGETS).
"""

from __future__ import annotations

import shutil
import subprocess

from bench.common import machine as common_machine

ROUTES = {
    "onnx_full": "tk ONNX file, session.run (numpy columns)",
    "predictor": "tk ONNX file, Predictor.predict(records)",
    "onnx_core": "model-only ONNX graph (floor)",
    "onnx_inputs": "raw inputs only: Shape of each (input-binding floor)",
    "torch_eager": "Python preprocessing + torch eager",
    "skl2onnx": "scikit-learn LogisticRegression → skl2onnx",
    "sklearn": "scikit-learn predict_proba (DataFrame)",
    "node": "tk ONNX file, onnxruntime-node",
    "wasm": "tk ONNX file, onnxruntime-web (wasm, Node)",
}
# Measured earlier on this kind of machine (issue 4); not re-measured here.
REFERENCES = {
    "churn": [
        ("Ludwig 0.11 LudwigModel.predict", 18_600.0, None),
        ("Ludwig 0.11 TorchScript export (from a DataFrame)", 1_460.0, None),
        ("scikit-learn → skl2onnx (issue's measurement)", 35.0, 204.0),
        ("scikit-learn predict_proba (issue's measurement)", 6_900.0, None),
    ]
}
TARGETS = {"churn": {"full_1_us": 40.0, "full_256_us": 300.0, "full_over_floor": 3.0}}


def machine() -> dict:
    """bench.common.machine with the packages the routes use, and Node's version (the node/wasm routes)."""
    info = common_machine(("onnxruntime", "onnx", "torch", "numpy", "scikit-learn", "skl2onnx"))
    node = shutil.which("node")
    info["versions"]["node"] = (
        subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else None
    )
    return info


def fmt(us: float | None) -> str:
    if us is None:
        return "–"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def markdown(res: dict) -> str:
    m = res["machine"]
    v = ", ".join(f"{k} {x}" for k, x in m["versions"].items() if x)
    lines = [
        "# Inference latency",
        "",
        f"`{res['command']}` — {m['date']}, git {m['git_commit']}"
        + (" (toolkit/ or exporters/ had uncommitted changes)" if m["toolkit_dirty"] else ""),
        "",
        f"Machine: {m['cpu_count']} CPU ({m['cpu_model']}), {v}. Load average at start {m['loadavg_start'][0]:.2f}, "
        f"at end {m['loadavg_end'][0]:.2f}.",
        "",
        f"Median of {res['runs']} timed calls per cell (interleaved over {res['rounds']} rounds, after a warm-up, "
        "gc off), onnxruntime with 1 intra-op + 1 inter-op thread, torch with 1 thread. Every route starts from "
        "the same raw test columns and returns labels and probabilities; the tk routes are checked against the "
        "full ONNX file before timing (labels identical, |Δp| ≤ 1e-5). The scikit-learn routes are a different "
        "model (one-hot + LogisticRegression), for scale.",
        "",
    ]
    for name, r in res["models"].items():
        t, sizes = r["timings"], sorted({int(n) for x in r["timings"].values() for n in x})
        lines += [
            f"## {name}",
            "",
            f"Config `{r['config']}`, {r['test_rows']} test rows of `{r['data']}`; model.onnx "
            f"{r['onnx_bytes'] / 1024:.0f} KiB.",
            "",
            "| route | "
            + " | ".join(f"{n} row{'s' if n > 1 else ''}" for n in sizes)
            + f" | µs/row at {sizes[-1]} | × floor ({sizes[0]} / {sizes[-1]}) |",
            "|---|" + "---:|" * (len(sizes) + 2),
        ]
        floor = t.get("onnx_core", {})
        for route, label in ROUTES.items():
            if route not in t:
                continue
            cells = [fmt(t[route][n]["median_us"]) for n in sizes]
            per_row = t[route][sizes[-1]]["median_us"] / sizes[-1]
            ratio = (
                " / ".join(f"{t[route][n]['median_us'] / floor[n]['median_us']:.1f}×" for n in sizes) if floor else "–"
            )
            bold = "**" if route == "onnx_full" else ""
            lines.append(f"| {bold}{label}{bold} | " + " | ".join(cells) + f" | {per_row:.2f} | {ratio} |")
        for route, why in r["notes"].items():
            lines.append(f"| {ROUTES[route]} | not measured: {why} |" + " |" * (len(sizes) + 1))
        for label, one, many in REFERENCES.get(name, []):
            lines.append(f"| {label} (reference, not re-measured) | {fmt(one)} | {fmt(many)} | | |")
        target = TARGETS.get(name)
        if target and 1 in t["onnx_full"] and 256 in t["onnx_full"]:
            f1, f256 = t["onnx_full"][1]["median_us"], t["onnx_full"][256]["median_us"]
            worst = max(t["onnx_full"][n]["median_us"] / floor[n]["median_us"] for n in sizes)
            ok = lambda b: "met" if b else "NOT met"  # noqa: E731
            lines += [
                "",
                f"Targets: full pipeline ≤ {target['full_1_us']:.0f} µs for 1 row: {fmt(f1)}, "
                f"{ok(f1 <= target['full_1_us'])}; ≤ {target['full_256_us']:.0f} µs for 256 rows: {fmt(f256)}, "
                f"{ok(f256 <= target['full_256_us'])}; ≤ {target['full_over_floor']:.0f}× the model-only floor: "
                f"{worst:.1f}×, {ok(worst <= target['full_over_floor'])}. "
                f"Ludwig's predict / this: {18_600 / f1:.0f}×; its TorchScript / this: {1_460 / f1:.0f}×.",
            ]
            if "skl2onnx" in t:
                lines[-1] += (
                    " Against skl2onnx measured in this run: "
                    + ", ".join(
                        f"{t['onnx_full'][n]['median_us'] / t['skl2onnx'][n]['median_us']:.2f}× at {n}" for n in sizes
                    )
                    + " (tk / skl2onnx)."
                )
        for p in r.get("profile", []):
            lines += [
                "",
                f"### Where the full pipeline spends its time: {p['rows']} row{'s' if p['rows'] > 1 else ''} "
                f"(onnxruntime profiler, {p['runs']} runs)",
                "",
                f"{p['nodes']} nodes run ("
                + ", ".join(f"{k} {c}" for k, c in p["nodes_by_stage"].items())
                + "). The profiler's own cost per node inflates every time (a run "
                f"averaged {fmt(p['model_run_mean_us_profiled'])} while profiled), so read the shares of "
                "kernel time. By stage: "
                + ", ".join(f"{k} {x:.0f} %" for k, x in p["by_stage_pct"].items())
                + ". By op type: "
                + ", ".join(f"{k} {x:.0f} %" for k, x in list(p["by_op_pct"].items())[:10])
                + ".",
                "",
                "| node | op | share of kernel time | µs (profiled) |",
                "|---|---|---:|---:|",
            ]
            lines += [
                f"| `{x['node']}` | {x['op']} | {x['pct']:.1f} % | {x['us_profiled']:.1f} |" for x in p["top_nodes"]
            ]
        lines.append("")
    return "\n".join(lines)
