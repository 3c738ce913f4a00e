"""Ludwig's side of the peers benchmark, run by bench/.venv-ludwig/bin/python (never by tk's venv).

    bench/.venv-ludwig/bin/python bench/peers/ludwig_runner.py SPEC.json
    bench/.venv-ludwig/bin/python bench/peers/ludwig_runner.py serve MODEL_DIR PORT   # = `ludwig serve`

SPEC (written by bench/peers/ludwig_system.py): csv (with split train/validation/test), config
(a Ludwig config dict), outputs [{name, type, positive}], out (a folder), latency_runs, budget_s.
Prints JSON lines: {"event": "trained", t, rss_kib} once LudwigModel.train returns (it has
restored the best weights and saved the model), then {"event": "result", predictions, latency,
model_dir, epochs, versions}. Standard library + Ludwig's own dependencies only.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time

_TORCHVISION_OPS = None  # keeps the Library object (and so the op declarations) alive


def cpu_torch_compat() -> None:
    """Let Ludwig import beside the CPU torch 2.13 wheel.

    The torchvision 0.28 and torchaudio 2.11 wheels pip finds are built against CUDA torch
    (torchvision: libtorch_cuda.so) or an older torch (torchaudio), so their C extensions cannot
    load here, and Ludwig imports both at start-up for its image and audio features (not used by
    this benchmark). torchvision's import registers fake kernels for two ops its extension would
    have declared: declare them (never called). torchaudio gets an extension module that says
    "not built", which is what torchaudio itself reports when the extension is absent.
    """
    import types

    import torch

    global _TORCHVISION_OPS
    if _TORCHVISION_OPS is None:
        _TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            _TORCHVISION_OPS.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    ext = types.ModuleType("torchaudio._extension")
    ext._IS_TORCHAUDIO_EXT_AVAILABLE = ext._IS_ALIGN_AVAILABLE = False
    ext._check_cuda_version = lambda: None
    ext._load_lib = lambda lib: False

    def fail_if_no_align(fn):
        def fail(*args, **kwargs):
            raise RuntimeError("torchaudio's alignment extension is not available here")

        return fail

    ext.fail_if_no_align = fail_if_no_align
    sys.modules["torchaudio._extension"] = ext


def serve(model_dir: str, port: str) -> None:
    """`ludwig serve -m MODEL_DIR -H 127.0.0.1 -p PORT`, Ludwig's own CLI entry, after cpu_torch_compat."""
    cpu_torch_compat()
    from ludwig.serve import cli

    cli(["-m", model_dir, "-H", "127.0.0.1", "-p", port, "-l", "error"])


def _mark() -> None:
    # VmHWM, not ru_maxrss: ru_maxrss keeps the forking parent's high-water mark across exec
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(json.dumps({"event": "trained", "t": time.time(), "rss_kib": hwm}), flush=True)


def _median_ms(fn, runs: int, budget_s: float) -> dict:
    for _ in range(2):
        fn()
    samples, deadline = [], time.perf_counter() + budget_s
    while len(samples) < runs and (len(samples) < 5 or time.perf_counter() < deadline):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return {"median_ms": round(statistics.median(samples), 4), "runs": len(samples)}


def _predictions(frame, outputs) -> dict:
    out = {}
    for o in outputs:
        name = o["name"]
        if o["type"] == "binary":
            # Ludwig names the columns after the raw values (…_probabilities_bad) or True/False
            col = next(c for c in (f"{name}_probabilities_{o['positive']}", f"{name}_probabilities_True") if c in frame)
            out[name] = [float(x) for x in frame[col]]
        elif o["type"] == "category":
            out[name] = [str(x) for x in frame[f"{name}_predictions"]]
        else:
            out[name] = [float(x) for x in frame[f"{name}_predictions"]]
    return out


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    os.makedirs(spec["out"], exist_ok=True)
    os.chdir(spec["out"])  # Ludwig leaves a .lock_preprocessing file in the working directory
    cpu_torch_compat()
    import pandas as pd
    import torch
    from ludwig import __version__ as ludwig_version
    from ludwig.api import LudwigModel

    torch.set_num_threads(int(spec.get("threads") or torch.get_num_threads()))
    df = pd.read_csv(spec["csv"])
    parts = {
        p: df[df["split"] == p].drop(columns=["split"]).reset_index(drop=True) for p in ("train", "validation", "test")
    }
    model = LudwigModel(spec["config"], logging_level=logging.ERROR)
    stats, _, out_dir = model.train(
        training_set=parts["train"],
        validation_set=parts["validation"],
        test_set=parts["test"],
        output_directory=spec["out"],
        skip_save_processed_input=True,
        skip_save_log=True,
        skip_save_training_description=True,
        random_seed=42,
    )
    _mark()
    test = parts["test"]
    preds, _ = model.predict(dataset=test, output_directory=spec["out"])
    epochs = None
    try:
        epochs = len(stats.training["combined"]["loss"])
    except (AttributeError, KeyError, TypeError):
        pass
    latency = {"ludwig_predict": {}}
    for n in (1, 1000):
        rows = pd.concat([test] * (n // len(test) + 1), ignore_index=True).iloc[:n]
        latency["ludwig_predict"][str(n)] = _median_ms(
            lambda: model.predict(dataset=rows, output_directory=spec["out"]), spec["latency_runs"], spec["budget_s"]
        )
    print(
        json.dumps(
            {
                "event": "result",
                "predictions": _predictions(preds, spec["outputs"]),
                "latency": latency,
                "model_dir": f"{out_dir}/model",
                "epochs": epochs,
                "versions": {"ludwig": ludwig_version, "torch": torch.__version__},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1])
