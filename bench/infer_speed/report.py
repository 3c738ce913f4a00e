"""bench.infer_speed's report: infer_speed.md from the results dict."""

from __future__ import annotations

from bench.infer_speed.routes import SIZES

ROUTES = {
    "tk_ort": "tk model.onnx, session.run (numpy columns)",
    "tk_predictor": "tk Predictor.predict(records)",
    "tk_predictor_before": "tk Predictor.predict(records), --before runtime",
    "tk_frame": "tk Predictor.run(DataFrame from Parquet) (what `tk predict` calls)",
    "tk_frame_before": "tk Predictor.run(DataFrame from Parquet), --before runtime",
    "skl2onnx_ort": "scikit-learn one-hot + LogisticRegression → skl2onnx, session.run",
}


def fmt(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def markdown(res: dict) -> str:
    m, t = res["machine"], res["timings"]
    lines = [
        "# Inference speed, side by side (churn)",
        "",
        (
            f"`{res['command']}` — {m['date']}, git {m['git_commit']}"
            + (" (toolkit/ or exporters/ had uncommitted changes)" if m["toolkit_dirty"] else "")
        ),
        "",
        (
            f"Machine: {m['cpu_count']} CPU ({m['cpu_model']}); onnxruntime {m['versions'].get('onnxruntime')}, "
            f"skl2onnx {m['versions'].get('skl2onnx')}. Load average at start {m['loadavg_start'][0]:.2f}, "
            f"at end {m['loadavg_end'][0]:.2f}: the machine is shared, absolute times are noisy; compare "
            "within a row of this table (measured interleaved, in the same run)."
        ),
        "",
        (
            f"Median per call over {res['rounds']} interleaved rounds (gc off, 1 onnxruntime thread). "
            f"The `--before` routes use the Predictor of `{res['before']}`."
        ),
        "",
        "| route | " + " | ".join(f"{n:,} row{'s' if n > 1 else ''}" for n in SIZES) + " | rows/s at 65,536 |",
        "|---|" + "---:|" * (len(SIZES) + 1),
    ]
    for r, by_n in t.items():
        lines.append(
            f"| {ROUTES[r]} | "
            + " | ".join(fmt(by_n[n]["median_us"]) for n in SIZES)
            + f" | {by_n[SIZES[-1]]['rows_per_s']:,.0f} |"
        )
    lines += ["", "Ratios (same run):", ""]
    pairs = [
        ("tk_predictor", "tk_predictor_before", "Predictor.predict(records) after / before"),
        ("tk_frame", "tk_frame_before", "Predictor.run(DataFrame) after / before"),
        ("tk_ort", "skl2onnx_ort", "tk session.run / skl2onnx session.run"),
        ("tk_predictor", "skl2onnx_ort", "tk Predictor / skl2onnx session.run"),
    ]
    for a, b, label in pairs:
        if a in t and b in t:
            lines.append(
                f"- {label}: "
                + ", ".join(f"{n:,} rows {t[a][n]['median_us'] / t[b][n]['median_us']:.2f}×" for n in SIZES)
            )
    for r, why in res["notes"].items():
        lines.append(f"- {r}: not measured ({why})")
    return "\n".join(lines) + "\n"
