"""`python -m bench.gpu`: the examples on cuda vs cpu, the big runs, GPU utilisation; writes gpu.json and gpu.md
(see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import bench.gpu
from bench.common import RESULTS, command_line, machine
from bench.gpu.runs import TOLERANCE, Run, accepts, compare, run_config, train

EXAMPLE_NAMES = ("churn", "reviews", "diamonds", "penguins")
PACKAGES = ("torch", "onnxruntime", "onnx", "pandas", "numpy", "pyarrow", "scikit-learn", "pydantic")


def plan(quick: bool, cpu_only: bool, cores: int) -> list[Run]:
    """The runs, most important first (a run past the time budget is skipped)."""
    devices = ["cpu"] if cpu_only else ["cuda", "cpu"]
    epochs = 1 if quick else 3
    runs = [Run(name, name, d, epochs) for name in EXAMPLE_NAMES for d in devices]
    big_devices = [("cpu", "fp32")] if cpu_only else [("cuda", "fp32"), ("cpu", "fp32"), ("cuda", "bf16")]
    stack, big_epochs = (1, 1) if quick else (10, 2)
    for device, precision in big_devices:
        runs.append(
            Run(
                f"diamonds_x{stack}_transformer",
                "diamonds",
                device,
                big_epochs,
                precision,
                stack,
                threads=cores if device == "cpu" and not quick else None,
                group="big",
                overrides={"combiner": {"type": "transformer"}},
            )
        )
    text = {
        "input_features": [
            {
                "name": "review",
                "type": "text",  # --quick: 64 tokens, for a CPU to check
                "preprocessing": {"punctuation": False, "max_length": 64 if quick else 256},
                "encoder": {"type": "transformer", "dim": 64},
            }
        ]
    }
    for device, precision in big_devices:
        runs.append(
            Run(
                "reviews_text_transformer",
                "reviews",
                device,
                1 if quick else 3,
                precision,
                threads=cores if device == "cpu" and not quick else None,
                group="big",
                overrides=text,
            )
        )
    order = {"examples": 0, "big": 1}
    return sorted(runs, key=lambda r: (order[r.group], r.precision != "fp32"))


def cuda_visible() -> str | None:
    """None when torch sees a CUDA device (in a child: the parent never imports torch), else why not."""
    code = "import torch; print(torch.cuda.is_available() and torch.cuda.get_device_name(0))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    name = out.stdout.strip()
    return (
        None
        if out.returncode == 0 and name not in ("", "False")
        else (out.stderr.strip()[-300:] or "torch sees no CUDA device")
    )


def gpu_info() -> dict:
    try:
        text = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        name, driver, mem = [p.strip() for p in text.splitlines()[0].split(",")]
        return {"name": name, "driver": driver, "memory_mib": float(mem)}
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return {}


def fmt(v, digits=4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"# GPU benchmark ({m['date'][:10]}, {result['gpu'].get('name', 'no GPU')}, "
        f"{m.get('cpu_count') or os.cpu_count()} CPUs)",
        "",
        f"`{result['command']}` · {result['seconds']:.0f} s · git {m.get('git_commit')}"
        + (" (toolkit/ had uncommitted changes)" if m.get("toolkit_dirty") else ""),
        "",
        "Whole `tk train` wall time (one process, imports included), the epoch loop (`train_seconds`), "
        "the time around it, and nvidia-smi's GPU utilisation (mean over the run and over the epoch "
        "loop, 200 ms samples) and peak memory.",
        "",
        "| run | device | precision | rows | epochs | wall s | loop s | around s | GPU util run / loop % | "
        "GPU MiB peak | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        g = r.get("gpu") or {}
        util = f"{fmt(g.get('util_mean'), 0)} / {fmt(g.get('util_mean_loop'), 0)}" if g.get("samples") else "–"
        status = (
            "ok" if r.get("rc") == 0 else ("skipped: " + r["skipped"] if "skipped" in r else f"FAILED ({r.get('rc')})")
        )
        lines.append(
            f"| {r['run']} | {r['device']} | {r['precision']} | {r.get('rows', '–')} | {r['epochs']} | "
            f"{fmt(r.get('wall_s'), 1)} | {fmt(r.get('train_seconds'), 1)} | {fmt(r.get('around_s'), 1)} | "
            f"{util} | {fmt(g.get('mem_peak_mib'), 0)} | {status} |"
        )
    if result["comparisons"]:
        lines += [
            "",
            f"## Test metrics, cuda vs cpu and bf16 vs fp32 (flag: |Δ| > {TOLERANCE}; loss, mae, rmse relative to the "
            "reference)",
            "",
            "| run | output | metric | reference: cpu (fp32) | cuda (bf16) | Δ | flag |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for key, rows in result["comparisons"].items():
            for c in rows:
                lines.append(
                    f"| {key} | {c['output']} | {c['metric']} | {fmt(c['reference'])} | {fmt(c['value'])} | "
                    f"{c['diff']:.4f}{' rel' if c['relative'] else ''} | {'**FLAG**' if c['flag'] else ''} |"
                )
    ok = {r["key"]: r for r in result["runs"] if r.get("rc") == 0}
    targets = []
    for name in sorted({r["run"] for r in result["runs"] if r["group"] == "big"}):
        gpu, cpu = ok.get(f"{name}@cuda"), ok.get(f"{name}@cpu")
        if gpu:
            loop_util = (gpu.get("gpu") or {}).get("util_mean_loop")
            targets.append(
                f"- {name}: around the loop {gpu['around_s']:.1f} s of {gpu['wall_s']:.1f} s on cuda "
                f"({gpu['around_s'] / gpu['wall_s']:.0%}; target ≤ 33 %), GPU busy {fmt(loop_util, 0)} % "
                "of the epoch loop (target ≥ 50 %)"
                + (
                    f", cuda / cpu ({cpu['threads'] or 'default'} threads) whole wall "
                    f"{gpu['wall_s'] / cpu['wall_s']:.2f} (target ≤ 0.33)"
                    if cpu
                    else ""
                )
            )
    if targets:
        lines += ["", "## Issue 20's targets", ""] + targets
    big = [r for r in result["runs"] if r["group"] == "big" and r.get("phases")]
    if big:
        lines += ["", "## Where the time around the loop goes (exclusive seconds per phase, bench/gpu/phases.py)", ""]
        for r in big:
            top = sorted(((k, v) for k, v in r["phases"].items() if k != "epoch loop"), key=lambda kv: -kv[1])[:8]
            lines.append(f"- {r['key']}: " + "; ".join(f"{k} {v:.1f}" for k, v in top))
    failed = [r for r in result["runs"] if r.get("rc") not in (0, None)]
    if failed:
        lines += ["", "## Failures", ""]
        for r in failed:
            lines += [f"### {r['key']}", "", "```", r.get("error", ""), "```", ""]
    lines += ["", f"bf16: {result['bf16']}", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.gpu", description=bench.gpu.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cpu-only", action="store_true", help="only the cpu side (checks the script without a GPU)")
    ap.add_argument("--quick", action="store_true", help="1 epoch, the stacked runs on 1× the data")
    ap.add_argument("--budget-s", type=float, default=270, help="skip the runs that would start after this")
    ap.add_argument("--only", default="", help="comma-separated run names (default: all)")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tk_bench_gpu")
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and markdown")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if not args.cpu_only and (why := cuda_visible()):
        print(f"bench.gpu: no CUDA device ({why}); run with --cpu-only to check the script", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    runs = plan(args.quick, args.cpu_only, cores)
    if args.only:
        runs = [r for r in runs if r.name in args.only.split(",")]
    bf16_error = next((accepts(run_config(r)) for r in runs if r.precision == "bf16"), None)
    bf16 = "accepted by the config (trainer.precision: bf16)" if not bf16_error else f"not run: {bf16_error}"
    if bf16_error:
        runs = [r for r in runs if r.precision != "bf16"]
    args.work.mkdir(parents=True, exist_ok=True)
    records = []
    for spec in runs:
        elapsed = time.perf_counter() - started
        if elapsed > args.budget_s:
            records.append(
                {
                    "run": spec.name,
                    "key": spec.key,
                    "group": spec.group,
                    "device": spec.device,
                    "precision": spec.precision,
                    "epochs": spec.epochs,
                    "skipped": f"time budget ({elapsed:.0f} s > {args.budget_s:.0f} s)",
                }
            )
            continue
        record = train(spec, args.work, sample_gpu=not args.cpu_only)
        records.append(record)
        brief = {k: record.get(k) for k in ("key", "rc", "wall_s", "train_seconds", "around_s")}
        if record.get("gpu"):
            brief["gpu"] = {k: record["gpu"].get(k) for k in ("util_mean", "util_mean_loop", "mem_peak_mib")}
        print(json.dumps(brief), flush=True)
    by_key = {r["key"]: r for r in records if r.get("rc") == 0}
    comparisons = {}
    for r in records:
        if r.get("rc") == 0 and r["device"] == "cuda" and r["precision"] == "fp32":
            cpu = by_key.get(r["key"].replace("@cuda", "@cpu"))
            if cpu:
                comparisons[r["run"]] = compare(cpu, r)
        if r.get("rc") == 0 and r["precision"] == "bf16":
            fp32 = by_key.get(r["key"].replace("-bf16", ""))
            if fp32:  # bf16 vs fp32 on the same device, same tolerance
                comparisons[r["key"] + " vs fp32"] = compare(fp32, r)
    result = {
        "command": command_line("bench.gpu", argv),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(PACKAGES),
        "gpu": {} if args.cpu_only else gpu_info(),
        "bf16": bf16,
        "tolerance": TOLERANCE,
        "runs": records,
        "comparisons": comparisons,
        "flags": sum(c["flag"] for rows in comparisons.values() for c in rows),
        "failures": [r["key"] for r in records if r.get("rc") not in (0, None)],
    }
    name = "gpu-cpu-only" if args.cpu_only else ("gpu-quick" if args.quick else "gpu")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))
    (args.out / f"{name}.md").write_text(markdown(result))
    print(
        f"wrote {args.out / name}.json and .md ({result['seconds']:.0f} s; {len(result['failures'])} failed, "
        f"{result['flags']} metric flags)",
        file=sys.stderr,
    )
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
