"""`python -m bench.text_suite`: tk's init-config text defaults vs TF-IDF + LogisticRegression.

    python -m bench.text_suite --tree /tmp/tk-before --label before --name text_suite_before
    python -m bench.text_suite --sets spam,names --seeds 0 --tk-override 'input_features[type=text].preprocessing.punctuation=true' --label punct
    python -m bench.text_suite --compare before,after --name text_suite_compare     # cached runs only

tk runs from `--tree` (a snapshot, so that edits elsewhere do not disturb a run), each `tk train`
and `tk predict` in its own process under nice.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench.text_suite.datasets import TEXT_SETS
from bench.text_suite.report import write
from bench.text_suite.runner import run_suite

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.text_suite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sets", default=",".join(TEXT_SETS), help="comma-separated; default all")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--systems", default="tk,tfidf_lr", help="tk, tfidf_lr")
    p.add_argument("--label", default="tk", help="name of this tk variant (its runs are cached under it)")
    p.add_argument(
        "--tk-override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted path on top of the init-config YAML (bench.suite.overrides syntax)",
    )
    p.add_argument("--compare", help="report only: comma-separated tk labels of cached runs")
    p.add_argument("--tree", type=Path, default=ROOT, help="source tree tk runs from (PYTHONPATH)")
    p.add_argument("--work", type=Path, default=Path("/tmp/tk-text-suite"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--name", default="text_suite")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--note", default="", help="a line for the report under the command (e.g. how the runs were made)")
    args = p.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    unknown = [s for s in sets if s not in TEXT_SETS]
    if unknown:
        p.error(f"unknown sets {unknown}; known: {', '.join(TEXT_SETS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    command = "python -m bench.text_suite " + shlex.join(argv if argv is not None else sys.argv[1:])
    systems = args.systems.split(",")
    if args.compare:
        labels = args.compare.split(",")
        results = []
        for label in labels:
            results += run_suite(sets, seeds, ["tk"], args.work, args.tree, label, cached_only=True)
        results += run_suite(sets, seeds, ["tfidf_lr"], args.work, args.tree)
    else:
        labels = [args.label] if "tk" in systems else []
        results = run_suite(
            sets,
            seeds,
            systems,
            args.work,
            args.tree,
            args.label,
            args.tk_override,
            args.timeout,
            args.fresh,
            log=lambda line: print(line, flush=True),
        )
    write(results, args.out, args.name, labels, command, args.note)


if __name__ == "__main__":
    main()
