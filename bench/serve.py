"""Serving benchmark: the BentoML service under closed-loop load on loopback.

Run by hand from the repository root (it is not a test):

    .venv/bin/python bench/serve.py --out bench/results            # trains churn first (~30 s)
    .venv/bin/python bench/serve.py --model runs/churn --duration 4

What it measures, on the churn model, single-row requests (`{"rows": [row]}`):
- req/s, p50, p99 and errors at concurrency 1, 8, 32, 64 for `POST /predict`
  (adaptive batching) and `POST /predict_bulk` (the same work, unbatched);
- with 1 and 2 workers (`TK_WORKERS`), and /predict batched by tk's greedy
  batcher (the default) or by BentoML's own `batchable=True` dispatcher
  (`TK_BATCHING=bentoml`): one `bentoml serve` each, all started together and
  measured in turns (see bench_model);
- the ceilings: `POST /ping` (a trivial endpoint in the same server: what
  BentoML itself costs), the Predictor's rows/s in-process, and the load
  generator against a trivial asyncio server (what the client alone can do);
- `/predict` at concurrency 1 right after a c=64 run: BentoML's dispatcher
  keeps the waits it learned under load for a while.

Every server is `bentoml serve` on 127.0.0.1 and a free port, started with
`serving.process.ServerProcess` and stopped by PID with its children. Each run
is bounded by `--duration` seconds. The load generator (bench/loadgen.py) is
one asyncio process with raw keep-alive sockets; its CPU and the server's CPU
(all its processes, from /proc) are recorded per run, so a reader can see who
had the cores: client and server share the machine's cores, and on this
workplace other jobs do too (load average recorded per run).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import timeit
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import loadgen  # noqa: E402
from serving.process import ServerProcess, cpu_seconds  # noqa: E402

CONCURRENCY = (1, 8, 32, 64)
TARGET = {"concurrency": 32, "req_per_s": 1500, "p99_ms": 30, "errors": 0}
LUDWIG = {"c1": {"req_per_s": 44.0, "p50_ms": 21.5}, "c8": {"req_per_s": 43.5, "p99_ms": 252.0}}


EXAMPLES = {  # name: (config, data file); the model is trained from the config unless --trained NAME=DIR
    "churn": ("examples/churn/config.yaml", "examples/churn/churn.csv"),
    "reviews": ("examples/reviews/config.yaml", "examples/reviews/reviews.csv"),
}
DEFAULT_CONFIGS = {"churn": "1:tk,2:tk,1:bentoml,2:bentoml", "reviews": "1:tk,2:tk,2:bentoml"}


def records(name: str, n: int | None = None) -> list[dict]:
    with open(ROOT / EXAMPLES[name][1], newline="") as f:
        reader = csv.DictReader(f)
        return [r for _, r in zip(range(n), reader)] if n else list(reader)


def sample_row(model_dir: Path, name: str) -> dict:
    """The data's first row, as a JSON client sends it (blank number → null)."""
    from toolkit.runtime import Predictor

    inputs = Predictor(model_dir).inputs
    rec = records(name, 1)[0]
    return {c: (None if rec[c] == "" else float(rec[c]) if t == "tensor(float)" else rec[c]) for c, t in inputs.items()}


def predictor_ceiling(model_dir: Path, name: str) -> list[dict]:
    """In-process Predictor.predict rows/s at a few batch sizes (best of 5)."""
    from toolkit.runtime import Predictor

    data = records(name, 1024)
    out = []
    for threads in (1, 2):
        p = Predictor(model_dir, threads=threads)
        for n in (1, 32, 1024):
            cols = {c: [r[c] for r in data[:n]] for c in p.inputs}
            number = max(1, 300 // n)
            best = min(timeit.repeat(lambda: p.predict(cols), number=number, repeat=5)) / number
            out.append({"threads": threads, "rows": n, "ms_per_call": round(best * 1000, 3),
                        "rows_per_s": round(n / best)})
    return out


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat), to tell the neighbours' share."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(server: ServerProcess, path: str, body: bytes, concurrency: int, duration: float) -> dict:
    pids = server.all_pids()
    load = os.getloadavg()[0]
    c0, m0 = cpu_seconds(pids), _machine_busy_s()
    r = loadgen.run("127.0.0.1", server.port, path, body, concurrency, duration)
    server_cpu, busy = cpu_seconds(pids) - c0, _machine_busy_s() - m0
    others = max(0.0, busy - server_cpu - r["client_cpu_s"])
    r.update(path=path, load_avg=round(load, 2), server_cpu_pct=round(100 * server_cpu / r["wall_s"], 1),
             others_cpu_pct=round(100 * others / r["wall_s"], 1),
             server_cpu_us_per_req=round(1e6 * server_cpu / r["ok"]) if r["ok"] else None,
             client_cpu_us_per_req=round(1e6 * r["client_cpu_s"] / r["ok"]) if r["ok"] else None)
    return r


def bench_model(model_dir: Path, configs: list[tuple[int, str]], body: bytes, duration: float, repeats: int,
                log=print) -> list[dict]:
    """Start every server of `configs` at once (an idle one costs nothing), then measure them in turn.

    For each concurrency and round the servers take turns, so a neighbour's burst hits them alike;
    each cell reports the round with the median req/s. /predict_bulk (unbatched) does not depend on
    the batching mode, so it is measured on the first server of each worker count only.
    """
    with contextlib.ExitStack() as stack:
        servers = []
        for workers, batching in configs:
            env = {"TK_WORKERS": str(workers), "TK_BATCHING": batching,
                   "BENTOML_HOME": tempfile.mkdtemp(prefix="tk-bench-bentoml-")}
            server = stack.enter_context(ServerProcess(model_dir, env=env, start_timeout=120))
            servers.append({"workers": workers, "batching": batching, "server": server, "samples": {}})
        for s in servers:  # warm-up: BentoML's dispatcher trains on its first requests
            loadgen.run("127.0.0.1", s["server"].port, "/predict", body, 1, 2.0)
            loadgen.run("127.0.0.1", s["server"].port, "/predict_bulk", body, 4, 1.0)
        bulk_on = {}
        for s in servers:
            bulk_on.setdefault(s["workers"], s["batching"])
        cells = [(path, c) for c in CONCURRENCY for path in ("/predict", "/predict_bulk")] + [("/ping", 32)]
        for _ in range(repeats):
            for path, c in cells:
                for s in servers:
                    if path == "/predict_bulk" and bulk_on[s["workers"]] != s["batching"]:
                        continue
                    r = measure(s["server"], path, body if path != "/ping" else b"{}", c, duration)
                    r["batching"] = s["batching"] if path == "/predict" else "none"
                    s["samples"].setdefault((path, c, ""), []).append(r)
                    log(_line(s["workers"], r))
        for s in servers:  # BentoML's dispatcher remembers the waits of a burst: c=1 right after c=64
            loadgen.run("127.0.0.1", s["server"].port, "/predict", body, 64, duration)
            r = measure(s["server"], "/predict", body, 1, duration)
            r.update(batching=s["batching"], note="right after a c=64 run")
            s["samples"][("/predict", 1, r["note"])] = [r]
            log(_line(s["workers"], r))
    out = []
    for s in servers:
        runs = []
        for samples in s["samples"].values():
            samples = sorted(samples, key=lambda r: r["req_per_s"])
            median = dict(samples[len(samples) // 2])
            median["rounds_req_per_s"] = [r["req_per_s"] for r in samples]
            runs.append(median)
        out.append({"workers": s["workers"], "env": {"TK_WORKERS": str(s["workers"]), "TK_BATCHING": s["batching"]},
                    "runs": runs})
    return out


def _line(workers: int, r: dict) -> str:
    return (f"workers={workers} {r.get('batching', ''):7s} {r['path']:13s} c={r['concurrency']:<3d} {r['req_per_s']:8.1f} req/s  "
            f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  "
            f"server {r['server_cpu_pct']:.0f}% CPU ({r['server_cpu_us_per_req']} µs/req)  "
            f"client {r['client_cpu_pct']:.0f}%  others {r['others_cpu_pct']:.0f}%"
            + (f"  [{r['note']}]" if r.get("note") else ""))


def train_example(name: str, dest: Path) -> Path:
    from toolkit import log, train

    log.quiet = True
    train(ROOT / EXAMPLES[name][0], output=dest)
    return dest


def machine() -> dict:
    def version(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        git = ""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": len(os.sched_getaffinity(0)), "cpu": cpu, "python": platform.python_version(), "git": git,
            "versions": {p: version(p) for p in ("bentoml", "onnxruntime", "uvicorn", "httptools", "uvloop",
                                                 "pydantic", "starlette")}}


def check_targets(model: dict) -> dict:
    """The issue's targets at c=32 on the best server; batched vs unbatched at every c."""
    best = None
    for cfg in model["servers"]:
        for r in cfg["runs"]:
            if r["path"] == "/predict" and r["concurrency"] == TARGET["concurrency"] and not r.get("note"):
                if best is None or r["req_per_s"] > best[1]["req_per_s"]:
                    best = (f"{cfg['workers']} worker(s), {cfg['env'].get('TK_BATCHING', 'tk')} batching", r)
    bulk = {(cfg["workers"], r["concurrency"]): r["req_per_s"] for cfg in model["servers"] for r in cfg["runs"]
            if r["path"] == "/predict_bulk"}
    batched_vs = []
    for cfg in model["servers"]:
        for r in cfg["runs"]:
            if r["path"] == "/predict" and not r.get("note") and (cfg["workers"], r["concurrency"]) in bulk:
                batched_vs.append({"workers": cfg["workers"], "batching": cfg["env"].get("TK_BATCHING", "tk"),
                                   "concurrency": r["concurrency"], "batched": r["req_per_s"],
                                   "unbatched": bulk[(cfg["workers"], r["concurrency"])]})
    server, r = best
    c32 = [b for b in batched_vs if b["concurrency"] == TARGET["concurrency"]]
    return {"server": server, "req_per_s": r["req_per_s"], "p99_ms": r["p99_ms"], "errors": r["errors"],
            "req_per_s_met": r["req_per_s"] >= TARGET["req_per_s"], "p99_met": r["p99_ms"] <= TARGET["p99_ms"],
            "errors_met": r["errors"] == 0,
            "batched_not_below_unbatched": all(b["batched"] >= b["unbatched"] for b in batched_vs),
            "batched_over_unbatched_c32": max((b["batched"] / b["unbatched"] for b in c32 if b["unbatched"]),
                                              default=None),
            "batched_vs_unbatched": batched_vs,
            "vs_ludwig_c8": round(r["req_per_s"] / LUDWIG["c8"]["req_per_s"], 1)}


def _below(t: dict) -> list[str]:
    return [f"{b['workers']}w/{b['batching']} c={b['concurrency']} ({b['batched']:.0f} < {b['unbatched']:.0f})"
            for b in t["batched_vs_unbatched"] if b["batched"] < b["unbatched"]]


def _server_table(cfg: dict) -> list[str]:
    batching = cfg["env"].get("TK_BATCHING", "tk")
    lines = [f"### {cfg['workers']} worker{'s' if cfg['workers'] > 1 else ''}, /predict batched by "
             + ("tk (greedy)" if batching == "tk" else "BentoML's dispatcher (`batchable=True`)"), "",
             "| endpoint | concurrency | req/s | p50 ms | p99 ms | errors | server CPU | server µs/req "
             "| client CPU | others' CPU | req/s of each round |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    order = {p: i for i, p in enumerate(("/predict", "/predict_bulk", "/ping"))}
    for r in sorted(cfg["runs"], key=lambda r: (bool(r.get("note")), order[r["path"]], r["concurrency"])):
        name = r["path"] + (f" ({r['note']})" if r.get("note") else "")
        lines.append(f"| {name} | {r['concurrency']} | {r['req_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                     f"| {r['errors']} | {r['server_cpu_pct']:.0f}% | {r['server_cpu_us_per_req']} "
                     f"| {r['client_cpu_pct']:.0f}% | {r['others_cpu_pct']:.0f}% "
                     f"| {', '.join(f'{x:.0f}' for x in r['rounds_req_per_s'])} |")
    return lines + [""]


def markdown(result: dict, command: str) -> str:
    m = result["machine"]
    g = result["generator_ceiling"]
    lines = [
        "# Serving benchmark", "",
        f"`{command}` — {result['started']}, git {m['git']}", "",
        f"Machine: {m['cpus']} CPU ({m['cpu']}), Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        f"Load average at start {result['load_start']}, at end {result['load_end']}: other jobs share this "
        "machine, and the client and the server share its cores"
        + (f"; the benchmark ran at niceness {result['niceness']}." if result.get("niceness") else ".")
        + " The `others' CPU` column is what the rest of the machine used during the run (/proc/stat "
        "less the server and the client), in % of one core.", "",
        "Single-row requests over loopback, closed loop (each connection sends its next request when the answer "
        f"arrives), {result['duration_s']} s per run after a warm-up. All servers of a model run at once (an idle "
        "one costs nothing) and take turns at each cell, so a neighbour's burst hits them alike; a cell is the "
        f"round with the median req/s of {result['repeats']}. "
        "`/predict` batches concurrent requests; `/predict_bulk` runs each request alone; `/ping` is a trivial "
        "endpoint in the same server (the framework's own ceiling). Server CPU: all the server's processes "
        "(from /proc), per successful request: less sensitive to the neighbours than req/s.", "",
        f"Load generator alone (bench/loadgen.py against a trivial asyncio server, c={g['concurrency']}): "
        f"{g['req_per_s']:.0f} req/s at {round(1e6 * g['client_cpu_s'] / max(1, g['ok']))} µs of client CPU "
        "per request, so it is not what limits the runs below (see their client CPU column).", "",
    ]
    for model in result["models"]:
        t = model["targets"]
        lines += [f"## {model['name']}", ""]
        for cfg in model["servers"]:
            lines += _server_table(cfg)
        lines += [f"Predictor in-process ({model['name']}, `Predictor.predict`, records in and out, best of 5):", "",
                  "| onnxruntime threads | rows per call | ms per call | rows/s |", "|---:|---:|---:|---:|"]
        for p in model["predictor"]:
            lines.append(f"| {p['threads']} | {p['rows']} | {p['ms_per_call']} | {p['rows_per_s']:,} |")
        ratio = t["batched_over_unbatched_c32"]
        lines += ["", f"Against the targets ({model['name']}): at concurrency {TARGET['concurrency']} the best "
                  f"server ({t['server']}) gave {t['req_per_s']:.0f} req/s (target ≥ {TARGET['req_per_s']}: "
                  f"{'met' if t['req_per_s_met'] else 'NOT met'}), p99 {t['p99_ms']:.1f} ms (target ≤ "
                  f"{TARGET['p99_ms']}: {'met' if t['p99_met'] else 'NOT met'}), errors {t['errors']}; batched ≥ "
                  f"unbatched at every concurrency and server: "
                  f"{'yes' if t['batched_not_below_unbatched'] else 'NO: ' + ', '.join(_below(t))}; batched / "
                  f"unbatched at c=32: {ratio:.2f}×" if ratio else "", ""]
    churn = next((m["targets"] for m in result["models"] if m["name"] == "churn"), None)
    if churn:
        lines += [f"Ludwig 0.11 `ludwig serve` (reference, measured earlier on this kind of machine): "
                  f"{LUDWIG['c1']['req_per_s']} req/s at c=1 (p50 {LUDWIG['c1']['p50_ms']} ms), "
                  f"{LUDWIG['c8']['req_per_s']} req/s at c=8 (p99 {LUDWIG['c8']['p99_ms']} ms); tk's best churn "
                  f"server at c=32 is {churn['vs_ludwig_c8']}× that.", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="churn,reviews", help=f"examples to serve, from {', '.join(EXAMPLES)}")
    ap.add_argument("--trained", action="append", default=[], metavar="NAME=DIR",
                    help="use this trained model directory instead of training NAME (repeatable)")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per measured run")
    ap.add_argument("--repeats", type=int, default=3, help="rounds per cell; the median round is reported")
    ap.add_argument("--configs", help="servers to run, WORKERS:BATCHING comma-separated (BATCHING: tk greedy, "
                                      f"or bentoml's dispatcher); default per model: {DEFAULT_CONFIGS}")
    ap.add_argument("--out", type=Path, help="write serve.json and serve.md into this folder")
    ap.add_argument("--nice", type=int, default=0,
                    help="run the benchmark (client and servers) at this niceness, e.g. -5 on a machine "
                         "shared with other jobs (negative needs root); 0: unchanged")
    args = ap.parse_args(argv)
    if args.nice:
        os.nice(args.nice)  # children (the servers, the trivial server) inherit it
    trained = dict(t.split("=", 1) for t in args.trained)
    command = "python bench/serve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_start = round(os.getloadavg()[0], 2)
    models = []
    with tempfile.TemporaryDirectory(prefix="tk-bench-serve-") as tmp:
        gen = loadgen.generator_ceiling(32, min(3.0, args.duration))
        print(f"load generator alone: {gen['req_per_s']:.0f} req/s at c=32, its CPU {gen['client_cpu_pct']:.0f}%")
        for name in args.models.split(","):
            model_dir = Path(trained[name]) if name in trained else train_example(name, Path(tmp) / name)
            body = json.dumps({"rows": [sample_row(model_dir, name)]}).encode()
            pred = predictor_ceiling(model_dir, name)
            for p in pred:
                print(f"{name} Predictor threads={p['threads']} rows={p['rows']}: {p['ms_per_call']} ms, "
                      f"{p['rows_per_s']:,} rows/s")
            configs = [(int(w), b or "tk") for w, _, b in
                       (cfg.partition(":") for cfg in (args.configs or DEFAULT_CONFIGS[name]).split(","))]
            servers = bench_model(model_dir, configs, body, args.duration, args.repeats)
            model = {"name": name, "predictor": pred, "servers": servers}
            model["targets"] = check_targets(model)
            models.append(model)
    result = {"started": started, "command": command, "machine": machine(), "duration_s": args.duration,
              "repeats": args.repeats,
              "niceness": os.nice(0), "load_start": load_start, "load_end": round(os.getloadavg()[0], 2),
              "generator_ceiling": gen, "models": models}
    md = markdown(result, command)
    print(md)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "serve.md").write_text(md)


if __name__ == "__main__":
    main()
