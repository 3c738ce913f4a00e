"""python -m bench.explain [--sets A,B] [--kinds gbm,nn,ensemble] [--work DIR]: faithfulness per suite set and
kind (faithfulness.py), latency and size (latency.py), written to bench/results/explain.{json,md}."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.suite.datasets import DATASETS

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def main(argv: list[str] | None = None) -> None:
    from bench.explain import faithfulness, latency
    from bench.explain.report import markdown

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", default=",".join(DATASETS))
    ap.add_argument("--kinds", default="gbm,nn,ensemble")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tk-explain"))
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--again", action="store_true", help="measure the sets and kinds asked for again")
    args = ap.parse_args(argv)
    out = RESULTS / "explain.json"
    done = json.loads(out.read_text()) if out.exists() else {"faithfulness": [], "latency": None}
    asked = {(n, k) for n in args.sets.split(",") for k in args.kinds.split(",")}
    done["faithfulness"] = [
        r
        for r in done["faithfulness"]
        if "error" not in r  # failed ones run again
        and not (args.again and (r["set"], r["kind"]) in asked)
    ]
    have = {(r["set"], r["kind"]) for r in done["faithfulness"]}
    for name in args.sets.split(","):
        for kind in args.kinds.split(","):
            if (name, kind) in have:
                continue
            t0 = time.perf_counter()
            try:
                r = faithfulness.measure(name, kind, args.work, ROOT)
            except Exception as e:  # noqa: BLE001 - a failed set is a result
                r = {"set": name, "kind": kind, "error": f"{type(e).__name__}: {e}"[:400]}
            r["load"] = round(os.getloadavg()[0], 2)
            print(f"{name} {kind}: {json.dumps(r)} ({time.perf_counter() - t0:.0f} s)", flush=True)
            done["faithfulness"].append(r)
            out.write_text(json.dumps(done, indent=1))
    if not args.skip_latency:
        done["latency"] = latency.measure(args.work)
        out.write_text(json.dumps(done, indent=1))
    (RESULTS / "explain.md").write_text(markdown(done))
    print(f"wrote {RESULTS / 'explain.md'}")


if __name__ == "__main__":
    main()
