"""peers.md: the peers benchmark's results as markdown tables, one per dataset, and the targets' table.

markdown(json.loads(Path("bench/results/peers.json").read_text())) → the text of peers.md
"""

from __future__ import annotations

from bench.peers.measures import median_ms, system_label
from bench.peers.targets import targets


def _f(v, spec=".3f", none="—") -> str:
    return none if v is None else format(v, spec)


def _metrics_cell(row: dict) -> str:
    if "metrics" not in row:
        return "—"
    return ", ".join(f"{o} {k} {v:.4f}" for o, m in row["metrics"].items() for k, v in m.items())


def _lat_cell(row: dict, n: str) -> str:
    parts = []
    for route, label in (
        ("predictor", "Predictor"),
        ("onnx_session", "ORT"),
        ("ludwig_predict", "predict"),
        ("pipeline", "pipeline"),
        ("skl2onnx", "skl2onnx ORT"),
    ):
        v = median_ms(row, route, n)
        if v is not None:
            parts.append(f"{label} {v:.3f}" if v < 10 else f"{label} {v:.1f}")
    return "; ".join(parts) or "—"


def _serve_cell(row: dict) -> str:
    s = row.get("serving")
    if not s:
        return ""
    if "error" in s:
        return f"FAILED: {s['error']}"
    return " / ".join(
        f"{s[c]['req_per_s']:.0f} req/s, p99 {s[c]['p99_ms']:.0f} ms"
        + (f", {s[c]['errors']} errors" if s[c]["errors"] else "")
        for c in ("c1", "c32")
    )


def markdown(res: dict) -> str:
    """peers.md: the command, machine and load, one table per dataset, then the targets as ratios."""
    m = res["machine"]
    v = ", ".join(f"{k} {x}" for k, x in m["versions"].items() if x)
    lines = [
        "# tk side by side with Ludwig and scikit-learn",
        "",
        f"`{res['command']}` — {m['date']}, git {m.get('git_commit')}, {res.get('wall_s', 0) / 60:.1f} min"
        + (" (QUICK mode: subsampled, ≤ 3 epochs — not for publishing)" if res.get("quick") else ""),
        "",
        f"Machine: {m['cpu_count']} CPU ({m['cpu_model']}), {m['memory_gib']} GiB; {v}. "
        f"Load average at start {m['loadavg_start'][0]:.2f}, at end {m.get('loadavg_end', [0])[0]:.2f}: "
        "this machine is shared with other jobs, so every time below is noisy; the ratios were measured side "
        f"by side in the same run. Every system ran with {res['threads'] or 'default'} thread(s) "
        "(OMP/MKL/OpenBLAS, torch).",
        "",
        "Train s: wall time of the whole training process (start-up and imports included; tk's includes "
        "writing model.onnx). Peak RSS: that process. Predict: median ms per call, 1 row / 1,000 rows: tk "
        "`Predictor.predict(records)` and `session.run` on model.onnx; Ludwig `LudwigModel.predict(DataFrame)`; "
        "scikit-learn `pipeline.predict_proba(DataFrame)` and its skl2onnx file in onnxruntime (1 thread). "
        "Served: single-row requests over loopback, closed loop, concurrency 1 / 32.",
        "",
    ]
    for name, ds in res["datasets"].items():
        lines += [f"## {name}", ""]
        if "error" in ds and not ds["systems"]:
            lines += [f"FAILED: {ds['error']}", ""]
            continue
        after = f"; load average when it finished {ds['load_avg_after'][0]:.2f}" if ds.get("load_avg_after") else ""
        rerun = f" **Re-run alone** ({ds['rerun']['date']}: {ds['rerun']['why']})." if ds.get("rerun") else ""
        lines += [
            f"Rows {ds['rows']}; primary output `{ds['primary']}`; tk configs {ds['configs']}{after}.{rerun}",
            "",
            "| system | test metric | train s | peak RSS MB | predict 1 row (ms) | predict 1,000 rows (ms) "
            "| served c=1 / c=32 |",
            "|---|---|---:|---:|---|---|---|",
        ]
        for s in ds["systems"]:
            if "skipped" in s:
                lines.append(f"| {system_label(s)} | skipped: {s['skipped']} | | | | | |")
                continue
            if "error" in s:
                lines.append(
                    f"| {system_label(s)} | **FAILED**: {s['error'][:300]} | {_f(s.get('train_wall_s'), '.1f')} "
                    f"| {_f(s.get('peak_rss_mb'), '.0f')} | | | |"
                )
                continue
            note = f" (skl2onnx failed: {s['skl2onnx_error'][:160]})" if s.get("skl2onnx_error") else ""
            lines.append(
                f"| {system_label(s)} | {_metrics_cell(s)}{note} | {s['train_wall_s']:.1f} | {s['peak_rss_mb']:.0f} "
                f"| {_lat_cell(s, '1')} | {_lat_cell(s, '1000')} | {_serve_cell(s)} |"
            )
        lines.append("")
    lines += [
        "## The issue's targets, as ratios measured in this run",
        "",
        "tk = the model trained with the example's config (examples/<name>/config.yaml) where one exists "
        "(churn, reviews, diamonds), else with `tk init-config`'s default (credit: no example config, none "
        'is invented); that model is the one served by tk\'s BentoML service. The row marked "reference" '
        "is not counted: the Predictor route is the user-facing one.",
        "",
        "| dataset | target | measured | |",
        "|---|---|---|---|",
    ]
    for name, ds in res["datasets"].items():
        if ds.get("systems"):
            for t in targets(name, ds):
                verdict = "met" if t["met"] else "**missed**" + (": " + t["why"] if t["why"] else "")
                lines.append(
                    f"| {name} | {t['target']} | {t['value']} | "
                    f"{verdict + ' (reference)' if t.get('reference') else verdict} |"
                )
    return "\n".join(lines) + "\n"
