"""Where the seconds AROUND the epoch loop of one `tk train` go: exclusive time per phase, in-process.

    python -m bench.gpu.phases CONFIG -d DATA -o MODEL_DIR [--json OUT.json]

It imports what a training run imports first (timed as "imports"), then wraps
the functions named in PHASES with timers (measurement only: each wrapper calls
the original) and runs the real CLI (`toolkit.cli.main.app(["train", …])`). Time is
EXCLUSIVE: a phase running inside another is subtracted from the outer one, so
the rows add up to the run (the rest is "other"). Each row is keyed by its path
of phases ("final metrics > model forward"), so the same function called from
two places (the pre graph in training and in the parity check) is told apart.
Interpreter start and exit are outside; `bench.gpu` measures the whole process
around it. The JSON it writes (--json) is what bench.gpu puts into gpu.json.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time

PHASES = [  # (module, attribute path, label)
    ("toolkit.api", "train", "api.train"),
    ("toolkit.data.tables", "read_table", "read table (CSV/Parquet)"),
    ("toolkit.data.tables", "raw_column", "coerce columns"),
    ("toolkit.training.rows", "read_part", "split + targets (read_part)"),
    ("toolkit.training.fitting", "fit_features", "fit features"),
    ("toolkit.features.pregraph", "Preprocessor.__init__", "compile pre graph (ORT session)"),
    ("toolkit.features.pregraph", "Preprocessor.transform", "run pre graph"),
    ("toolkit.training.batches", "tensors_of", "build tensors"),
    ("toolkit.training.batches", "MemorySplit.all_splits", "build splits"),
    ("toolkit.training.loop", "fit", "epoch loop"),
    ("toolkit.pipeline.run", "fit_post", "calibration (fit_post)"),
    ("toolkit.training.evaluation", "evaluate", "evaluate"),
    ("toolkit.training.batches", "predict_raw", "model forward (eval)"),
    ("toolkit.training.evaluation", "score_predictions", "score (losses + metrics)"),
    ("toolkit.pipeline.trained", "TrainedModel.save", "save"),
    ("toolkit.export.onnx", "export_core", "torch.onnx.export"),
    ("toolkit.export.onnx", "build_full", "build full ONNX (merge)"),
    ("onnx.checker", "check_model", "onnx check_model"),
    ("toolkit.export.onnx", "session", "ORT session of model.onnx"),
    ("toolkit.export.parity", "assert_parity", "parity check"),
    ("toolkit.runtime.model_dir", "write_model_dir", "write model dir"),
    ("toolkit.report.summary", "print_train_summary", "summary"),
    ("toolkit.runtime.predictor", "Predictor.__init__", "Predictor session"),
]

#: Imported (and timed) before the run, so that no phase carries an import.
IMPORTS = [
    "toolkit.cli.main",
    "toolkit.api",
    "pandas",
    "pyarrow",
    "pyarrow.csv",
    "torch",
    "torch.onnx",
    "onnx",
    "onnxruntime",
    "sklearn.metrics",
    "safetensors.torch",
    "toolkit.pipeline.run",
    "toolkit.training.loop",
    "toolkit.training.batches",
    "toolkit.training.fitting",
    "toolkit.training.evaluation",
    "toolkit.nn.network",
    "toolkit.features.pregraph",
    "toolkit.export.onnx",
    "toolkit.export.parity",
    "toolkit.pipeline.trained",
    "toolkit.runtime.predictor",
    "toolkit.report.summary",
    "toolkit.training.checkpoint",
    "toolkit.training.epochs",
]


class Timer:
    """Exclusive seconds per path of nested phases."""

    def __init__(self):
        self.stack: list[list] = []  # [label, start, child seconds, cpu start, child cpu seconds]
        self.totals: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # the same, in CPU seconds of this process (all its threads)
        self.calls: dict[str, int] = {}
        self.windows: dict[str, list[float]] = {}  # label → [first start, last end], time.time()

    def wrap(self, fn, label: str):
        timer = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            path = " > ".join([s[0] for s in timer.stack if s[0] != "api.train"] + [label])
            frame = [label, time.perf_counter(), 0.0, time.process_time(), 0.0]
            timer.windows.setdefault(label, [time.time(), 0.0])
            timer.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                timer.stack.pop()
                spent, cpu = time.perf_counter() - frame[1], time.process_time() - frame[3]
                timer.totals[path] = timer.totals.get(path, 0.0) + spent - frame[2]
                timer.cpu[path] = timer.cpu.get(path, 0.0) + cpu - frame[4]
                timer.calls[path] = timer.calls.get(path, 0) + 1
                timer.windows[label][1] = time.time()
                if timer.stack:
                    timer.stack[-1][2] += spent
                    timer.stack[-1][4] += cpu

        timed.__wrapped_by_phases__ = True
        return timed


def install(timer: Timer) -> list[str]:
    """Wrap every PHASES function (and the names other loaded modules imported it under); returns the
    ones not found (moved: update PHASES)."""
    missing = []
    for module, path, label in PHASES:
        owner = importlib.import_module(module)
        *parents, name = path.split(".")
        for p in parents:
            owner = getattr(owner, p, None)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            missing.append(f"{module}.{path}")  # not (or no longer) in this tree
            continue
        timed = timer.wrap(original, label)
        setattr(owner, name, timed)
        if not parents:  # `from module import fn` elsewhere: rebind those names too
            for mod in list(sys.modules.values()):
                if getattr(mod, "__name__", "").startswith(("toolkit", "onnx")) and mod is not owner:
                    if getattr(mod, name, None) is original:
                        setattr(mod, name, timed)
    return missing


def run(argv: list[str]) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    imports = {}
    for m in IMPORTS:
        s = time.perf_counter()
        importlib.import_module(m)
        imports[m] = time.perf_counter() - s
    t_imports, c_imports = time.perf_counter() - t0, time.process_time() - c0
    timer = Timer()
    missing = install(timer)
    from toolkit.cli.main import app

    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        app(["train", *argv])
    except SystemExit as e:
        if e.code:
            raise
    run_seconds, run_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    phases = {"imports": t_imports} | dict(sorted(timer.totals.items(), key=lambda kv: -kv[1]))
    phases["other (typer, config, logging)"] = run_seconds - sum(timer.totals.values())
    cpu = {"imports": c_imports} | {k: timer.cpu[k] for k in phases if k in timer.cpu}
    cpu["other (typer, config, logging)"] = run_cpu - sum(timer.cpu.values())
    return {
        "in_process_seconds": t_imports + run_seconds,
        "phases": phases,
        "cpu_seconds": cpu,
        "in_process_cpu_seconds": c_imports + run_cpu,
        "calls": timer.calls,
        "windows": timer.windows,
        "imports": imports,
        "not_timed": missing,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.gpu.phases", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", help="write the phases here")
    args, rest = ap.parse_known_args(argv)
    result = run(rest)
    for k, v in result["phases"].items():
        print(f"{v:8.3f}  {k}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
