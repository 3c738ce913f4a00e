"""What every benchmark shares: the machine it ran on, git state, percentiles and timing.

    from bench.common import ROOT, RESULTS, command_line, machine, summary_us, interleaved

Command line: `command_line` is the command a report prints, `chosen` checks a comma-separated
--models / --datasets against its registry, `tk_executable` finds the `tk` command and
`python_path` lets a child process import bench.*.

Machine: `machine(packages)` is the one description of the machine written into every result
JSON (date, platform, CPU model and counts, memory, Python, package versions, git commit and
whether toolkit/ or exporters/ had uncommitted changes, load average, thread variables);
`cpu_ticks` / `busy_seconds` read whole-machine CPU use from /proc/stat, `vm_hwm_kib` a
process's peak RSS.

Timing: `interleaved` times zero-argument callables {route: {size: fn}} in rounds, so a noisy
neighbour hits every route alike; `summary_us` turns its nanosecond samples into median / p10 /
p90 µs; `time_median` is the budgeted single-callable form; `percentile` is the nearest-rank
percentile of latencies (load generators). `ort_session` is the one onnxruntime set-up the
benchmarks time (CPU, 1 intra-op and 1 inter-op thread).

Standard library only at import time: bench/peers's children and the load generator import it.
"""

from __future__ import annotations

import gc
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# What the benchmarks report versions of, unless they name their own.
PACKAGES = ("torch", "scikit-learn", "onnxruntime", "onnx", "pandas", "numpy", "tk-toolkit")


# --------------------------------------------------------------------------- command line


def command_line(module: str, argv: list[str] | None) -> str:
    """How this run was started, as the reports print it: `python -m <module> ARGS` (module: "bench.latency")."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", "-m", module, *(shlex.quote(a) for a in args)])


def chosen(parser, option: str, text: str, known) -> list[str]:
    """The comma-separated names of `option` (e.g. --datasets), each one of `known`, else parser.error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def python_path() -> str:
    """PYTHONPATH for a child that imports bench.*: the repository root, then whatever was set already."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


def tk_executable() -> str:
    """The `tk` command of this Python's environment (beside sys.executable), else the one on PATH."""
    beside = Path(sys.executable).with_name("tk")
    return str(beside) if beside.exists() else shutil.which("tk") or str(beside)


# --------------------------------------------------------------------------- machine


def version(package: str) -> str | None:
    """The installed version of `package`, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str | None:
    """The CPU's model name (/proc/cpuinfo), else platform.processor(), else None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        return None


def git_state(paths: Iterable[str] = ("toolkit", "exporters")) -> tuple[str | None, bool | None]:
    """(short commit of HEAD, whether `paths` have uncommitted changes); (None, None) without git."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()

    try:
        return git("rev-parse", "--short", "HEAD") or None, bool(git("status", "--porcelain", "--", *paths))
    except (OSError, subprocess.TimeoutExpired):
        return None, None


def machine(packages: Iterable[str] = PACKAGES) -> dict[str, Any]:
    """The machine, the software and the git state of this run: one shape for every result JSON."""
    commit, dirty = git_state()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib(),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in packages},
        "git_commit": commit,
        "toolkit_dirty": dirty,
        "loadavg_start": list(os.getloadavg()),
        "threads_env": {v: os.environ.get(v) for v in THREAD_VARS},
    }


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, all CPUs (/proc/stat); None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (all CPUs): tells the neighbours' share."""
    ticks = cpu_ticks()
    return ticks[0] / os.sysconf("SC_CLK_TCK") if ticks else 0.0


def vm_hwm_kib(pid: int | str = "self") -> int | None:
    """Peak RSS (KiB) of a process's own memory since its exec: VmHWM in /proc/<pid>/status.

    Not ru_maxrss: a child forked from a big parent inherits the parent's high-water mark in
    ru_maxrss (Linux keeps it across exec), so a 200 MB child of a 750 MB parent reads 750 MB.
    """
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------- percentiles and timing


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (q in 0..100) of `values`; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary_us(samples_ns: list[int]) -> dict[str, Any]:
    """{median_us, p10_us, p90_us, runs} of nanosecond samples (numpy's interpolated percentiles)."""
    import numpy as np

    us = np.asarray(samples_ns) / 1e3
    return {
        "median_us": float(np.median(us)),
        "p10_us": float(np.percentile(us, 10)),
        "p90_us": float(np.percentile(us, 90)),
        "runs": int(len(us)),
    }


def interleaved(
    routes: dict[str, dict[int, Callable[[], Any]]],
    runs: Callable[[int], int],
    rounds: int,
    warmup: Callable[[int], int],
) -> dict[str, dict[int, list[int]]]:
    """Time every route at every size: {route: {size: [ns per call]}}.

    `runs(size)` calls per route and size in all, spread over `rounds` rounds; in each round every
    size is timed for every route in turn, so a noisy neighbour hits them alike. `warmup(size)`
    untimed calls first. The garbage collector is off while timing.
    """
    sizes = sorted({n for fns in routes.values() for n in fns})
    for fns in routes.values():
        for n, fn in fns.items():
            for _ in range(warmup(n)):
                fn()
    samples: dict[str, dict[int, list[int]]] = {r: {n: [] for n in fns} for r, fns in routes.items()}
    gc.disable()
    try:
        for _ in range(rounds):
            for n in sizes:
                for r, fns in routes.items():
                    if n not in fns:
                        continue
                    fn, out = fns[n], samples[r][n]
                    for _ in range(-(-runs(n) // rounds)):
                        t0 = time.perf_counter_ns()
                        fn()
                        out.append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    return samples


def time_median(fn: Callable[[], Any], runs: int, budget_s: float, warmup: int = 3) -> dict[str, Any]:
    """Median wall ms of fn() over at most `runs` calls and about `budget_s` seconds (at least 5 calls)."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < runs and (len(samples) < 5 or time.perf_counter() < deadline):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return {"median_ms": round(statistics.median(samples), 4), "runs": len(samples)}


def ort_session(model, profile_dir: str | None = None):
    """onnxruntime, CPU, 1 intra-op and 1 inter-op thread, all graph optimisations.

    model: a path (str), serialized bytes or an onnx ModelProto; profile_dir: switch on
    onnxruntime's profiler, writing there.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if profile_dir:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(profile_dir) / "ort")
    source = model if isinstance(model, (str, bytes)) else model.SerializeToString()
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])
