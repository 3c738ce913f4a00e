"""The runs of bench.gpu: configs written from the examples, one `tk train` per child process, nvidia-smi
sampled beside it.

    spec = Run("diamonds_x10_transformer", "diamonds", "cuda", epochs=2, stack=10,
               overrides={"combiner": {"type": "transformer"}})
    record = train(spec, work)   # wall, train_seconds, test metrics, phases, GPU utilisation / memory

Each run is `python -m bench.gpu.phases CONFIG -d DATA -o MODEL` (the real `tk train` command in-process,
with timers around its phases; see phases.py), so its wall time is the whole process, imports included.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import ROOT, python_path

EXAMPLES = ROOT / "examples"
#: The nvidia-smi command sampled beside each run (one line per GPU every 200 ms).
SMI = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", "-lms", "200"]
#: A run stopped after this many seconds is recorded as timed out.
RUN_TIMEOUT_S = 240


@dataclass
class Run:
    name: str  # what the reports call it
    example: str  # examples/<example>/config.yaml and its CSV
    device: str  # trainer.device: cuda | cpu
    epochs: int
    precision: str = "fp32"  # trainer.precision (bf16 only where the config accepts it)
    stack: int = 1  # the example's CSV stacked this many times
    threads: int | None = None  # trainer.threads (None: the config's, else tk's default)
    overrides: dict = field(default_factory=dict)  # merged into the config (dicts merged key by key)
    group: str = "examples"  # examples | big

    @property
    def key(self) -> str:
        return f"{self.name}@{self.device}{'' if self.precision == 'fp32' else '-' + self.precision}"


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        same_type = (
            isinstance(v, dict)
            and isinstance(out.get(k), dict)
            and v.get("type", out[k].get("type")) == out[k].get("type")
        )
        out[k] = merge(out[k], v) if same_type else copy.deepcopy(v)  # another `type`: its own keys only
    return out


def example_config(example: str) -> tuple[dict, Path]:
    """(the example's config as a dict, its data file)."""
    import yaml

    path = EXAMPLES / example / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    return cfg, (path.parent / cfg["dataset"]).resolve()


def run_config(spec: Run) -> dict:
    cfg, _ = example_config(spec.example)
    cfg = merge(cfg, spec.overrides)
    trainer = cfg.setdefault("trainer", {})
    trainer["device"], trainer["epochs"] = spec.device, spec.epochs
    if spec.precision != "fp32":
        trainer["precision"] = spec.precision
    if spec.threads:
        trainer["threads"] = spec.threads
    cfg.pop("dataset", None)  # given with -d
    return cfg


def accepts(cfg: dict) -> str | None:
    """None when tk validates `cfg`, else its first error line (e.g. trainer.precision unknown)."""
    from toolkit.config.schema import validate_config
    from toolkit.errors import TkError

    try:
        validate_config(cfg, "bench")
        return None
    except TkError as e:
        return str(e).splitlines()[0]


def stacked(example: str, times: int, work: Path) -> Path:
    """The example's CSV with its rows repeated `times` times (written once under `work`)."""
    _, data = example_config(example)
    if times == 1:
        return data
    out = work / f"{data.stem}_x{times}.csv"
    if not out.exists():
        header, *rows = data.read_text().splitlines(keepends=True)
        if rows and not rows[-1].endswith("\n"):
            rows[-1] += "\n"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(header + "".join(rows) * times)
        tmp.replace(out)
    return out


class GpuSampler:
    """nvidia-smi in a background process (SMI), its lines read by a thread; stopped by its PID."""

    def __init__(self):
        self.samples: list[tuple[float, float, float]] = []  # (time.time(), utilisation %, MiB used)
        self.proc = None
        self.error: str | None = None

    def start(self) -> "GpuSampler":
        if shutil.which(SMI[0]) is None:
            self.error = "nvidia-smi not found"
            return self
        self.proc = subprocess.Popen(SMI, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            parts = [p.strip() for p in line.split(",")]
            try:
                self.samples.append((time.time(), float(parts[0]), float(parts[1])))
            except (ValueError, IndexError):
                continue

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.thread.join(timeout=5)

    def summary(self, window: list[float] | None = None, idle_mib: float | None = None) -> dict:
        """Mean / max utilisation and peak memory over the run, and the mean utilisation inside `window`
        ([start, end], time.time()) — the epoch loop."""
        if not self.samples:
            return {"samples": 0, "error": self.error}
        util = [u for _, u, _ in self.samples]
        mem = [m for _, _, m in self.samples]
        out = {
            "samples": len(self.samples),
            "util_mean": round(sum(util) / len(util), 1),
            "util_max": max(util),
            "mem_peak_mib": max(mem),
            "mem_idle_mib": idle_mib,
        }
        if window and window[1] > window[0]:
            inside = [u for t, u, _ in self.samples if window[0] <= t <= window[1]]
            if inside:
                out["util_mean_loop"] = round(sum(inside) / len(inside), 1)
                out["loop_samples"] = len(inside)
        return out


def gpu_memory_used() -> float | None:
    """MiB used on the GPU now (before a run: what others hold), or None."""
    try:
        text = subprocess.run(SMI[:3], capture_output=True, text=True, timeout=30).stdout
        return float(text.splitlines()[0].split(",")[1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def train(spec: Run, work: Path, sample_gpu: bool) -> dict:
    """One `tk train` (through bench.gpu.phases) of `spec`; its record for gpu.json."""
    import yaml

    run_dir = work / spec.key.replace("@", "_")
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cfg = run_config(spec)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    data = stacked(spec.example, spec.stack, work)
    model, phases_json, log_path = run_dir / "model", run_dir / "phases.json", run_dir / "train.log"
    cmd = [
        sys.executable,
        "-m",
        "bench.gpu.phases",
        "--json",
        str(phases_json),
        str(run_dir / "config.yaml"),
        "-d",
        str(data),
        "-o",
        str(model),
    ]
    env = os.environ | {"PYTHONPATH": python_path(), "PYTHONUNBUFFERED": "1"}
    idle = gpu_memory_used() if sample_gpu else None
    sampler = GpuSampler().start() if sample_gpu else None
    record = {
        "run": spec.name,
        "key": spec.key,
        "group": spec.group,
        "example": spec.example,
        "device": spec.device,
        "precision": spec.precision,
        "epochs": spec.epochs,
        "stack": spec.stack,
        "threads": cfg.get("trainer", {}).get("threads"),
        "command": " ".join(cmd),
    }
    start = time.perf_counter()
    try:
        with open(log_path, "w") as log:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S)
        record["rc"] = proc.returncode
    except subprocess.TimeoutExpired:
        record["rc"] = "timeout"
    record["wall_s"] = round(time.perf_counter() - start, 2)
    if sampler is not None:
        sampler.stop()
    tail = log_path.read_text(errors="replace").splitlines()[-15:]
    if record["rc"] != 0:
        record["error"] = "\n".join(tail)
        if sampler is not None:
            record["gpu"] = sampler.summary(None, idle)
        return record
    stats = json.loads((model / "training_stats.json").read_text())
    phases = json.loads(phases_json.read_text())
    record |= {
        "rows": stats["data"]["rows"],
        "train_seconds": round(stats["train_seconds"], 2),
        "around_s": round(record["wall_s"] - stats["train_seconds"], 2),
        "best_epoch": stats["best_epoch"],
        "epochs_run": len(stats["epochs"]),
        "test": stats["metrics"].get("test", {}),
        "process_cpu_s": round(phases.get("in_process_cpu_seconds", float("nan")), 2),  # all its threads
        "phases": {k: round(v, 3) for k, v in phases["phases"].items() if v >= 0.05},
    }
    if sampler is not None:
        record["gpu"] = sampler.summary(phases.get("windows", {}).get("epoch loop"), idle)
    return record


BOUNDED = (
    "accuracy",
    "roc_auc",
    "macro_f1",
    "f1",
    "precision",
    "recall",
    "r2",
    "average_precision",
    "balanced_accuracy",
    "jaccard",
    "hamming",
    "ece",
)
TOLERANCE = 0.005


def compare(ref: dict, run: dict) -> list[dict]:
    """Test metrics of two runs side by side (`ref` the cpu or fp32 run, `run` the cuda or bf16 one): |Δ| for
    metrics in [0, 1] (BOUNDED), |Δ| / |ref| for the others (loss, mae, rmse: their units are the target's);
    flagged above TOLERANCE."""
    rows = []
    for out, metrics in ref.get("test", {}).items():
        for name, a in metrics.items():
            b = run.get("test", {}).get(out, {}).get(name)
            if a is None or b is None:
                continue
            bounded = any(name == m or name.endswith(m) for m in BOUNDED)
            diff = abs(b - a) if bounded else abs(b - a) / max(abs(a), 1e-12)
            rows.append(
                {
                    "output": out,
                    "metric": name,
                    "reference": a,
                    "value": b,
                    "diff": diff,
                    "relative": not bounded,
                    "flag": bool(diff > TOLERANCE or diff != diff),
                }
            )
    return rows
