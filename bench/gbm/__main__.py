"""python -m bench.gbm: LightGBM directly vs tk's GBM vs HistGradientBoosting, one split per set.

Per set (bench/gbm/datasets.py): test metric(s), train time, and for tk's GBM the one
file's parity with the Python path and its onnxruntime latency (1 thread; 1 row, 256
rows; whole file and trees alone). Writes <out>/gbm.json and <out>/gbm.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before any OpenMP runtime loads: one thread for every system

import argparse
import json
import platform
import time
from pathlib import Path

from bench.gbm.datasets import SETS, load
from bench.gbm.report import markdown
from bench.gbm.systems import run_hgb, run_lightgbm
from bench.gbm.tk_system import run_tk_gbm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.gbm", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated set names (default: all)")
    ap.add_argument("--out", default="bench/results", help="folder for gbm.json and gbm.md")
    ap.add_argument("--systems", default="lightgbm,tk_gbm,tk_gbm_raw,hgb")
    ap.add_argument("--seeds", default="0", help="comma-separated split seeds; tables show the mean over them")
    ap.add_argument("--gbm", default="{}", help="JSON overrides of the gbm config, e.g. '{\"learning_rate\": 0.05}'")
    ap.add_argument("--name", default="gbm", help="stem of the output files")
    args = ap.parse_args(argv)

    import lightgbm
    import onnxruntime
    import sklearn

    from toolkit.common import log
    from toolkit.models.gbm import GbmConfig

    log.quiet = True
    cfg = GbmConfig(**({"threads": int(os.environ["OMP_NUM_THREADS"])} | json.loads(args.gbm)))
    runners = {
        "lightgbm": lambda d: run_lightgbm(d, cfg),
        "tk_gbm": lambda d: run_tk_gbm(d, cfg, "tk"),
        "tk_gbm_raw": lambda d: run_tk_gbm(d, cfg, "raw"),
        "hgb": run_hgb,
    }
    systems = args.systems.split(",")
    results = []
    load_before = os.getloadavg()[0]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in args.sets.split(","):
        for seed in seeds:
            data = load(name, seed)
            row = {
                "set": name,
                "seed": seed,
                "task": data.task,
                "rows": len(data.frame),
                "inputs": len(data.types),
                "systems": {},
            }
            for s in systems:
                t = time.perf_counter()
                row["systems"][s] = runners[s](data)
                print(
                    f"{name:18s} {seed} {s:11s} {json.dumps(row['systems'][s]['metrics'])} "
                    f"({time.perf_counter() - t:.1f} s)",
                    flush=True,
                )
            results.append(row)
    meta = {
        "gbm_config": cfg.model_dump(),
        "lightgbm": lightgbm.__version__,
        "onnxruntime": onnxruntime.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "split": f"stratified 70/10/20 splits, seeds {args.seeds}",
        "cpus": os.cpu_count(),
        "load_average": f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "command": "python -m bench.gbm"
        + "".join(f" --{k} '{v}'" for k, v in vars(args).items() if v != ap.get_default(k)),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / f"{args.name}.md").write_text(markdown(meta, results))
    print(f"wrote {out / args.name}.json and .md")


if __name__ == "__main__":
    main()
