"""`python -m bench.suite`: run the defaults suite and write its report (see bench/suite/__init__.py).

    python -m bench.suite                                     # 13 sets × seeds 0-4 × tk, hgb, linear
    python -m bench.suite --sets Boston,Titanic --seeds 0 --systems tk,hgb
    python -m bench.suite --tk-override trainer.epochs=200 --label tk-e200 --name suite_e200
    python -m bench.suite --tk-candidate wide --name suite_wide
    python -m bench.suite --compare tk,tk-e200 --name suite_compare   # report only, from cached runs
    python -m bench.suite --systems lightgbm,autogluon --name suite_anchors   # the anchors (issue 25)
    python -m bench.suite --systems tk --label tk-new --anchors bench/results/suite_anchors.json --name suite_new
        # a tk run beside the stored anchors, hgb, linear and the "before" tk (no re-run of them)
    python -m bench.suite --compare tk-new --anchors bench/results/suite_anchors.json --name suite_new

AutoGluon needs its own venv first: bash bench/suite/setup_autogluon.sh (see autogluon_system.py).

tk runs from `--tree` (default: this checkout), each `tk train` / `tk predict` in its own process.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench.suite.candidate_table import candidates, candidates_markdown
from bench.suite.candidates import CANDIDATES
from bench.suite.datasets import DATASETS
from bench.suite.report import write
from bench.suite.runner import TkSpec, run_suite, stored_runs
from bench.suite.systems import SYSTEMS

ROOT = Path(__file__).resolve().parents[2]


def _label(args) -> str:
    if args.label:
        return args.label
    if not args.tk_override and not args.tk_candidate:
        return "tk"
    return "tk+" + "+".join(([args.tk_candidate] if args.tk_candidate else []) + args.tk_override)


def _versions(systems: list[str]) -> dict[str, str | None]:
    """Versions of what the systems ran on (AutoGluon's from its venv's marker file)."""
    from importlib import metadata

    from bench.suite.autogluon_system import installed

    out = {}
    for package in ("lightgbm", "scikit-learn", "torch", "onnxruntime"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = None
    if "autogluon" in systems:
        out["autogluon.tabular"] = installed()[0]
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.suite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sets", default=",".join(DATASETS), help="comma-separated; default all 13")
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated split seeds")
    p.add_argument("--systems", default="tk,hgb,linear", help="tk, " + ", ".join(SYSTEMS))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--name", default="suite", help="report file names: <out>/<name>.{json,md,png}")
    p.add_argument(
        "--tk-override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted config path on top of the init-config YAML, e.g. trainer.epochs=200 (repeatable)",
    )
    p.add_argument("--tk-candidate", choices=sorted(CANDIDATES), help="named size-dependent defaults")
    p.add_argument("--label", help="name of this tk variant in the results (default: from the overrides)")
    p.add_argument("--compare", help="report only: comma-separated tk labels of cached runs, beside --systems' others")
    p.add_argument(
        "--anchors",
        type=Path,
        action="append",
        default=[],
        metavar="JSON",
        help="a report's JSON (e.g. bench/results/suite_anchors.json) whose stored runs join this report, "
        "except those of systems run or compared here (repeatable)",
    )
    p.add_argument("--notes", default="", help="a paragraph for the markdown report (what ran where, load)")
    p.add_argument("--tree", type=Path, default=ROOT, help="source tree tk runs from (PYTHONPATH)")
    p.add_argument("--work", type=Path, default=Path("/tmp/tk-suite"), help="data, models and cached runs")
    p.add_argument("--timeout", type=float, default=600, help="seconds per tk train / predict process")
    p.add_argument("--fresh", action="store_true", help="re-run runs already cached in --work")
    args = p.parse_args(argv)

    sets = [s for s in args.sets.split(",") if s]
    unknown = [s for s in sets if s not in DATASETS]
    if unknown:
        p.error(f"unknown sets {unknown}; known: {', '.join(DATASETS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--notes" in shown:  # the notes are printed as a paragraph, not in the command
        i = shown.index("--notes")
        del shown[i : i + 2]
    command = "python -m bench.suite " + shlex.join([a for a in shown if not a.startswith("--notes=")])
    if args.compare:
        tk_labels = args.compare.split(",")
        results = []
        for label in tk_labels:
            results += run_suite(
                sets, seeds, ["tk"], args.work, args.tree, TkSpec(label=label), args.timeout, cached_only=True
            )
        baselines = [s for s in args.systems.split(",") if s != "tk"]
        results += run_suite(
            sets, seeds, baselines, args.work, args.tree, timeout=args.timeout, log=lambda line: print(line, flush=True)
        )
        systems = tk_labels + baselines
    else:
        tk = TkSpec(_label(args), tuple(args.tk_override), args.tk_candidate)
        systems = args.systems.split(",")
        results = run_suite(
            sets,
            seeds,
            systems,
            args.work,
            args.tree,
            tk,
            args.timeout,
            args.fresh,
            log=lambda line: print(line, flush=True),
        )
        systems = [tk.label if s == "tk" else s for s in systems]
    for path in args.anchors:
        stored = stored_runs(path, sets, seeds, skip=set(systems))
        results += stored
        systems += [s for s in dict.fromkeys(r["system"] for r in stored) if s not in systems]
    table = write(
        results,
        args.out,
        args.name,
        systems,
        command,
        seeds,
        args.notes,
        {"anchors": [str(p) for p in args.anchors], "versions": _versions(systems)},
    )
    if args.compare:
        baselines = [s for s in systems if s in SYSTEMS]  # the stored anchors' systems too
        rows = candidates(results, tk_labels, baselines)
        (args.out / f"{args.name}_candidates.md").write_text(candidates_markdown(rows, baselines, command))
        print(candidates_markdown(rows, baselines, command))
    for s, t in table.items():
        print(
            f"{s:>24}: mean rank {t['mean_rank']:.2f}, wtl {t['wtl']}, mean log loss {t['mean_log_loss']}, "
            f"median train {t['median_train_s']} s, errors {t['errors']}"
        )


if __name__ == "__main__":
    main()
