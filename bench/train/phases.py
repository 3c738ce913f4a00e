"""Where the seconds of one `tk train` go: a phase breakdown of one run, in-process.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.train.phases examples/churn/config.yaml -o /tmp/tk_phases

It runs the real CLI (`toolkit.cli.main.app`) once, with timers wrapped around the
functions named in PHASES (measurement only: the wrappers call the originals),
and prints seconds per import step and per phase. Phases nest (evaluate
includes the sklearn import; TrainedModel.save includes to_onnx), so they do
not add up to the total. Interpreter start and exit are outside; compare with
`/usr/bin/time -v .venv/bin/tk train …` for the whole process. On a shared
machine run it several times and read medians.
"""

from __future__ import annotations

import functools
import importlib
import sys
import time

PHASES = [  # (module, attribute path, label); a label named twice sums both call paths
    ("toolkit.data.tables", "read_table", "read table (pandas import + parse)"),
    ("toolkit.training.fitting", "fit_features", "fit features (accumulators over the chunks)"),
    ("toolkit.features.pregraph", "Preprocessor.transform", "preprocess (onnxruntime)"),
    ("toolkit.training.loop", "fit", "fit: the epoch loop"),
    ("toolkit.training.checkpoint", "save", "  of which checkpoints"),
    ("toolkit.training.loop", "evaluate", "evaluate (every epoch + final splits)"),
    ("toolkit.training.evaluation", "evaluate", "evaluate (every epoch + final splits)"),
    ("toolkit.scoring.metrics", "binary", "  of which binary metrics (sklearn import)"),
    ("toolkit.pipeline.trained", "TrainedModel.save", "save model directory"),
    ("toolkit.pipeline.trained", "TrainedModel.to_onnx", "  of which ONNX export + parity"),
    ("toolkit.report.summary", "print_train_summary", "summary (incl. ONNX latency)"),
]


def _wrap(totals: dict, module: str, path: str, label: str) -> bool:
    """Time every call of module.path under `label`; False when toolkit no longer has it (moved)."""
    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for p in parents:
        owner = getattr(owner, p, None)
    original = getattr(owner, name, None)
    if original is None:
        return False

    @functools.wraps(original)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, timed)
    return True


def main(argv: list[str]) -> None:
    t0 = time.perf_counter()
    from toolkit.cli.main import app

    t_cli = time.perf_counter()
    import toolkit.api  # noqa: F401

    t_api = time.perf_counter()
    totals: dict[str, float] = {}
    for module, path, label in PHASES:
        if not _wrap(totals, module, path, label):  # imports torch (trainer) here
            print(f"not timed: {module}.{path} is gone (moved? update PHASES)", file=sys.stderr)
    t_wrapped = time.perf_counter()
    try:
        app(["train", *argv])
    except SystemExit:
        pass
    t_end = time.perf_counter()
    rows = [
        ("import toolkit.cli.main (typer)", t_cli - t0),
        ("import toolkit.api (pydantic, numpy, …)", t_api - t_cli),
        ("import torch + toolkit modules", t_wrapped - t_api),
        ("train command", t_end - t_wrapped),
    ]
    rows += [(label, totals[label]) for label in dict.fromkeys(label for _, _, label in PHASES) if label in totals]
    print(f"\n{'phase':46s} seconds", file=sys.stderr)
    for label, seconds in rows:
        print(f"{label:46s} {seconds:7.2f}", file=sys.stderr)
    print(f"{'total in process':46s} {t_end - t0:7.2f}  (CPU {time.process_time():.2f})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
