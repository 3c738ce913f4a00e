"""`python -m bench.startup`: time the light commands, write startup.json and startup.md (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench.startup
from bench.common import RESULTS, ROOT, tk_executable

TK = tk_executable()
COMMANDS = {
    "tk --help": [TK, "--help"],
    "tk config render": [TK, "config", "render", "examples/churn/config.yaml"],
    "tk init-config (7,043 rows)": [TK, "init-config", "examples/churn/churn.csv", "--target", "churn"],
    "python -c 'import torch' (for scale)": [sys.executable, "-c", "import torch"],
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.startup",
        description=bench.startup.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.repeats):  # interleaved, so load changes hit every command alike
        for name, argv in COMMANDS.items():
            t = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
            times[name].append(time.perf_counter() - t)
    medians = {k: statistics.median(v) for k, v in times.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "startup.json").write_text(
        json.dumps(
            {"date": time.strftime("%Y-%m-%d"), "repeats": args.repeats, "runs": times, "median_s": medians}, indent=1
        )
    )
    lines = ["| command | median wall (s) | target |", "|---|---:|---|"]
    for k, v in medians.items():
        lines.append(f"| `{k}` | {v:.3f} | {'≤ 0.5 s' if k.startswith('tk') else ''} |")
    (args.out / "startup.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
