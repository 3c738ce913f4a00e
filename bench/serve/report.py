"""bench.serve's report: the issue's targets checked on the results, and serve.md."""

from __future__ import annotations

TARGET = {"concurrency": 32, "req_per_s": 1500, "p99_ms": 30, "errors": 0}
LUDWIG = {"c1": {"req_per_s": 44.0, "p50_ms": 21.5}, "c8": {"req_per_s": 43.5, "p99_ms": 252.0}}


def check_targets(model: dict) -> dict:
    """The issue's targets at c=32 on the best server; batched vs unbatched at every c."""
    best = None
    for cfg in model["servers"]:
        for r in cfg["runs"]:
            if r["path"] == "/predict" and r["concurrency"] == TARGET["concurrency"] and not r.get("note"):
                if best is None or r["req_per_s"] > best[1]["req_per_s"]:
                    best = (f"{cfg['workers']} worker(s), {cfg['env'].get('TK_BATCHING', 'tk')} batching", r)
    bulk = {
        (cfg["workers"], r["concurrency"]): r["req_per_s"]
        for cfg in model["servers"]
        for r in cfg["runs"]
        if r["path"] == "/predict_bulk"
    }
    batched_vs = []
    for cfg in model["servers"]:
        for r in cfg["runs"]:
            if r["path"] == "/predict" and not r.get("note") and (cfg["workers"], r["concurrency"]) in bulk:
                batched_vs.append(
                    {
                        "workers": cfg["workers"],
                        "batching": cfg["env"].get("TK_BATCHING", "tk"),
                        "concurrency": r["concurrency"],
                        "batched": r["req_per_s"],
                        "unbatched": bulk[(cfg["workers"], r["concurrency"])],
                    }
                )
    server, r = best
    c32 = [b for b in batched_vs if b["concurrency"] == TARGET["concurrency"]]
    return {
        "server": server,
        "req_per_s": r["req_per_s"],
        "p99_ms": r["p99_ms"],
        "errors": r["errors"],
        "req_per_s_met": r["req_per_s"] >= TARGET["req_per_s"],
        "p99_met": r["p99_ms"] <= TARGET["p99_ms"],
        "errors_met": r["errors"] == 0,
        "batched_not_below_unbatched": all(b["batched"] >= b["unbatched"] for b in batched_vs),
        "batched_over_unbatched_c32": max((b["batched"] / b["unbatched"] for b in c32 if b["unbatched"]), default=None),
        "batched_vs_unbatched": batched_vs,
        "vs_ludwig_c8": round(r["req_per_s"] / LUDWIG["c8"]["req_per_s"], 1),
    }


def _below(t: dict) -> list[str]:
    return [
        f"{b['workers']}w/{b['batching']} c={b['concurrency']} ({b['batched']:.0f} < {b['unbatched']:.0f})"
        for b in t["batched_vs_unbatched"]
        if b["batched"] < b["unbatched"]
    ]


def _server_table(cfg: dict) -> list[str]:
    batching = cfg["env"].get("TK_BATCHING", "tk")
    lines = [
        f"### {cfg['workers']} worker{'s' if cfg['workers'] > 1 else ''}, /predict batched by "
        + ("tk (greedy)" if batching == "tk" else "BentoML's dispatcher (`batchable=True`)"),
        "",
        "| endpoint | concurrency | req/s | p50 ms | p99 ms | errors | server CPU | server µs/req "
        "| client CPU | others' CPU | req/s of each round |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = {p: i for i, p in enumerate(("/predict", "/predict_bulk", "/ping"))}
    for r in sorted(cfg["runs"], key=lambda r: (bool(r.get("note")), order[r["path"]], r["concurrency"])):
        name = r["path"] + (f" ({r['note']})" if r.get("note") else "")
        lines.append(
            f"| {name} | {r['concurrency']} | {r['req_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['errors']} | {r['server_cpu_pct']:.0f}% | {r['server_cpu_us_per_req']} "
            f"| {r['client_cpu_pct']:.0f}% | {r['others_cpu_pct']:.0f}% "
            f"| {', '.join(f'{x:.0f}' for x in r['rounds_req_per_s'])} |"
        )
    return lines + [""]


def markdown(result: dict, command: str) -> str:
    m = result["machine"]
    g = result["generator_ceiling"]
    lines = [
        "# Serving benchmark",
        "",
        f"`{command}` — {result['started']}, git {m['git_commit']}",
        "",
        f"Machine: {m['cpu_affinity']} CPU ({m['cpu_model']}), Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + ".",
        f"Load average at start {result['load_start']}, at end {result['load_end']}: other jobs share this "
        "machine, and the client and the server share its cores"
        + (f"; the benchmark ran at niceness {result['niceness']}." if result.get("niceness") else ".")
        + " The `others' CPU` column is what the rest of the machine used during the run (/proc/stat "
        "less the server and the client), in % of one core.",
        "",
        "Single-row requests over loopback, closed loop (each connection sends its next request when the answer "
        f"arrives), {result['duration_s']} s per run after a warm-up. All servers of a model run at once (an idle "
        "one costs nothing) and take turns at each cell, so a neighbour's burst hits them alike; a cell is the "
        f"round with the median req/s of {result['repeats']}. "
        "`/predict` batches concurrent requests; `/predict_bulk` runs each request alone; `/ping` is a trivial "
        "endpoint in the same server (the framework's own ceiling). Server CPU: all the server's processes "
        "(from /proc), per successful request: less sensitive to the neighbours than req/s.",
        "",
        f"Load generator alone (bench.loadgen against a trivial asyncio server, c={g['concurrency']}): "
        f"{g['req_per_s']:.0f} req/s at {round(1e6 * g['client_cpu_s'] / max(1, g['ok']))} µs of client CPU "
        "per request, so it is not what limits the runs below (see their client CPU column).",
        "",
    ]
    for model in result["models"]:
        t = model["targets"]
        lines += [f"## {model['name']}", ""]
        for cfg in model["servers"]:
            lines += _server_table(cfg)
        lines += [
            f"Predictor in-process ({model['name']}, `Predictor.predict`, records in and out, best of 5):",
            "",
            "| onnxruntime threads | rows per call | ms per call | rows/s |",
            "|---:|---:|---:|---:|",
        ]
        for p in model["predictor"]:
            lines.append(f"| {p['threads']} | {p['rows']} | {p['ms_per_call']} | {p['rows_per_s']:,} |")
        ratio = t["batched_over_unbatched_c32"]
        lines += [
            "",
            f"Against the targets ({model['name']}): at concurrency {TARGET['concurrency']} the best "
            f"server ({t['server']}) gave {t['req_per_s']:.0f} req/s (target ≥ {TARGET['req_per_s']}: "
            f"{'met' if t['req_per_s_met'] else 'NOT met'}), p99 {t['p99_ms']:.1f} ms (target ≤ "
            f"{TARGET['p99_ms']}: {'met' if t['p99_met'] else 'NOT met'}), errors {t['errors']}; batched ≥ "
            f"unbatched at every concurrency and server: "
            f"{'yes' if t['batched_not_below_unbatched'] else 'NO: ' + ', '.join(_below(t))}; batched / "
            f"unbatched at c=32: {ratio:.2f}×"
            if ratio
            else "",
            "",
        ]
    churn = next((m["targets"] for m in result["models"] if m["name"] == "churn"), None)
    if churn:
        lines += [
            f"Ludwig 0.11 `ludwig serve` (reference, measured earlier on this kind of machine): "
            f"{LUDWIG['c1']['req_per_s']} req/s at c=1 (p50 {LUDWIG['c1']['p50_ms']} ms), "
            f"{LUDWIG['c8']['req_per_s']} req/s at c=8 (p99 {LUDWIG['c8']['p99_ms']} ms); tk's best churn "
            f"server at c=32 is {churn['vs_ludwig_c8']}× that.",
            "",
        ]
    return "\n".join(lines) + "\n"
