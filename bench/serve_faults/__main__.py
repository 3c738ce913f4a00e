"""`python -m bench.serve_faults`: good requests' latency under 20 % bad traffic (see __init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import bench.serve_faults
from bench.bad_requests import EARLY_CLOSE, bad_bodies
from bench.common import command_line, machine, percentile
from bench.serve.examples import sample_row, train_example
from bench.serve.runs import PACKAGES
from bench.serve_faults.traffic import run_mixed, run_schedule, schedules
from serving.process import ServerProcess, cpu_seconds

MAX_BODY = 1_500_000
TARGET_RATIO = 1.5


def summarise(results, label: str) -> dict:
    good = [r for r in results if r[0] == "good"]
    lat = [r[2] for r in good]
    bad = [r for r in results if r[0] != "good"]
    return {
        "kind": label,
        "good": len(good),
        "good_not_200": sum(1 for r in good if r[1] != 200),
        "bad": len(bad),
        "bad_4xx": sum(1 for r in bad if r[1] is not None and 400 <= r[1] < 500),
        "bad_5xx": sum(1 for r in bad if r[1] is not None and r[1] >= 500),
        "bad_no_answer": sum(1 for r in bad if r[1] is None and r[0] not in EARLY_CLOSE),
        "oversized_closed_early": sum(1 for r in bad if r[1] is None and r[0] in EARLY_CLOSE),
        "p50_ms": round(percentile(lat, 50) * 1e3, 2),
        "p99_ms": round(percentile(lat, 99) * 1e3, 2),
    }


def markdown(result: dict, command: str) -> str:
    s = result["summary"]
    lines = [
        f"# Good requests under 20 % bad traffic ({result['started']})",
        "",
        f"`{command}` — churn model, 1 worker, {result['rate']} good req/s (+{result['rate'] / 4:g} bad/s "
        f"in mixed rounds), {result['seconds']} s per round, {result['rounds']} rounds of each; "
        f"load average at start {result['load_avg_start']}.",
        "",
        "| round | kind | good | good ≠ 200 | bad | bad 4xx | bad 5xx | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(result["rounds_detail"]):
        lines.append(
            f"| {i // 2 + 1} | {r['kind']} | {r['good']} | {r['good_not_200']} | {r['bad']} | {r['bad_4xx']} "
            f"| {r['bad_5xx']} | {r['p50_ms']} | {r['p99_ms']} |"
        )
    lines += [
        "",
        f"Median p99: clean **{s['p99_clean_ms']} ms**, mixed **{s['p99_mixed_ms']} ms**, ratio "
        f"**{s['ratio']}×** (target ≤ {TARGET_RATIO}×: {'met' if s['met'] else 'missed'}). "
        f"Bad requests: {s['bad']} sent, {s['bad_4xx']} answered 4xx, {s['bad_5xx']} 5xx; "
        f"{s['oversized_closed_early']} oversized bodies closed by the server before the client "
        f"finished sending. Server CPU {s['server_cpu_s']} s in all.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.serve_faults",
        description=bench.serve_faults.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--model", type=Path, help="a trained churn model directory (default: train examples/churn)")
    ap.add_argument("--rate", type=float, default=200.0, help="good requests per second")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each round")
    ap.add_argument("--rounds", type=int, default=5, help="clean+mixed pairs; medians are reported")
    ap.add_argument("--threads", type=int, default=64, help="client threads sending on schedule")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="pin the server to the first CPU and the clients to the rest (needs ≥ 2 CPUs)",
    )
    ap.add_argument("--out", type=Path, help="write serve_faults.json and serve_faults.md into this folder")
    args = ap.parse_args(argv)
    command = command_line("bench.serve_faults", argv)
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="tk-bench-faults-") as tmp:
        model_dir = args.model or train_example("churn", Path(tmp) / "churn")
        row = sample_row(model_dir, "churn")
        good = json.dumps({"rows": [row]}).encode()
        bad = bad_bodies(row, MAX_BODY)
        env = {
            "BENTOML_HOME": str(Path(tmp) / "bentoml"),
            "TK_MAX_BODY_BYTES": str(MAX_BODY),
            "TK_WORKERS": "1",
            "TK_MAX_LATENCY_MS": "5000",
        }
        with ServerProcess(model_dir, env=env, start_timeout=90, stop_timeout=10) as server:
            if args.pin:  # the server's processes on the first CPU, the two clients on the others
                cpus = sorted(os.sched_getaffinity(0))
                for pid in server.all_pids():
                    os.sched_setaffinity(pid, {cpus[0]})
                os.sched_setaffinity(0, set(cpus[1:]))
            warm_good, warm_bad = schedules(good, bad, args.rate, 1.0, 0)
            run_mixed(server.port, warm_good, warm_bad, args.threads)  # warm-up
            pids_before = server.all_pids()
            cpu0 = cpu_seconds(pids_before)
            detail = []
            for r in range(args.rounds):
                clean, bad_jobs = schedules(good, bad, args.rate, args.seconds, seed=r)
                detail.append(summarise(run_schedule(server.port, clean, args.threads), "clean"))
                print(json.dumps(detail[-1]))
                detail.append(summarise(run_mixed(server.port, clean, bad_jobs, args.threads), "mixed"))
                print(json.dumps(detail[-1]))
            server_cpu = cpu_seconds(server.all_pids()) - cpu0
            restarted = server.all_pids() != pids_before
    clean_p99 = round(statistics.median(d["p99_ms"] for d in detail if d["kind"] == "clean"), 2)
    mixed_p99 = round(statistics.median(d["p99_ms"] for d in detail if d["kind"] == "mixed"), 2)
    mixed = [d for d in detail if d["kind"] == "mixed"]
    summary = {
        "p99_clean_ms": clean_p99,
        "p99_mixed_ms": mixed_p99,
        "ratio": round(mixed_p99 / clean_p99, 2),
        "met": mixed_p99 <= TARGET_RATIO * clean_p99,
        "worker_restarted": restarted,
        "server_cpu_s": round(server_cpu, 1),
        **{
            k: sum(d[k] for d in mixed)
            for k in ("bad", "bad_4xx", "bad_5xx", "bad_no_answer", "oversized_closed_early")
        },
        "good_not_200": sum(d["good_not_200"] for d in detail),
    }
    result = {
        "started": started,
        "command": command,
        "pinned": args.pin,
        "rate": args.rate,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "load_avg_start": round(os.getloadavg()[0], 2),
        "machine": machine(PACKAGES),
        "summary": summary,
        "rounds_detail": detail,
    }
    print(markdown(result, command))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "serve_faults.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "serve_faults.md").write_text(markdown(result, command))


if __name__ == "__main__":
    main()
