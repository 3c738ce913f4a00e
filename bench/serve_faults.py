"""Good requests' latency under 20 % bad traffic, at a fixed request rate (issue 6, item 4).

Run by hand from the repository root (it is not a test):

    .venv/bin/python bench/serve_faults.py --out bench/results          # trains churn first (~30 s)
    .venv/bin/python bench/serve_faults.py --model runs/churn --rate 200 --rounds 5

One `bentoml serve` of the churn model (1 worker, TK_MAX_BODY_BYTES 1.5 MB) on
127.0.0.1. Rounds alternate clean and mixed, so drift on this shared machine
falls on both:
- clean: `--rate` good single-row /predict requests per second for `--seconds`;
- mixed: the same good requests at the same instants, plus one bad request
  for every four good ones (20 % of all requests) at random instants, of the
  ten kinds in bench/bad_requests.py (malformed JSON, missing field, wrong
  types, oversized bodies, 1 MB strings, not JSON, multipart), sent by a
  second client process (the users who send bad requests are not the ones
  measured; one Python client sending both would charge the GIL time of
  writing a 1.6 MB body to the good requests).

An open loop: each request is sent at its scheduled instant by a pool of
threads, whatever the answers before it did, and its latency counts from that
instant (so a stall is charged to every request it delays, with no coordinated
omission). A closed loop of N threads would instead measure N / throughput,
which rises with any added request, good or bad. The figure: the good
requests' p99, mixed against clean, median over rounds (target ≤ 1.5×).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bad_requests import EARLY_CLOSE, bad_bodies  # noqa: E402
from bench.serve import machine, sample_row, train_example  # noqa: E402
from serving.process import ServerProcess, cpu_seconds  # noqa: E402

MAX_BODY = 1_500_000
TARGET_RATIO = 1.5


def _post(port: int, body: bytes, extra: dict, timeout: float = 30.0) -> int | None:
    """HTTP status, or None when the server closed the connection before answering."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        chunked = extra.get("chunked", False)
        data = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
        conn.request("POST", "/predict", body=data, encode_chunked=chunked,
                     headers=extra.get("headers") or {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (ConnectionError, http.client.HTTPException, TimeoutError):
        return None
    finally:
        conn.close()


def run_schedule(port: int, jobs: list[tuple[float, str, bytes, dict]], threads: int,
                 start: float | None = None) -> list[tuple[str, int | None, float]]:
    """jobs: (offset s, kind, body, extra), sorted by offset → (kind, status, latency s from the scheduled instant).

    `start`: a time.monotonic() instant shared with another process sending at the same time.
    """
    start = time.monotonic() + 0.2 if start is None else start
    results: list = [None] * len(jobs)

    def one(i: int) -> None:
        offset, kind, body, extra = jobs[i]
        due = start + offset
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status = _post(port, body, extra)
        results[i] = (kind, status, time.monotonic() - due)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(len(jobs))))
    return results


def run_mixed(port: int, good_jobs: list, bad_jobs: list, threads: int) -> list:
    """Good requests from this process, bad ones from a second client process, on one shared clock.

    Two clients, as in production (the users sending bad requests are not the ones
    measured), so a 1.6 MB body being written by one client thread does not hold
    the measuring client's GIL.
    """
    from concurrent.futures import ProcessPoolExecutor

    start = time.monotonic() + 1.0  # time for the second process to start
    with ProcessPoolExecutor(1) as other:
        bad = other.submit(run_schedule, port, bad_jobs, threads, start)
        good = run_schedule(port, good_jobs, threads, start)
        return good + bad.result()


def schedules(good: bytes, bad: list[tuple[str, bytes, dict]], rate: float, seconds: float, seed: int):
    """(good, bad) job lists: good at a fixed rate; one bad per four good at random instants of the same span."""
    n_good = int(rate * seconds)
    clean = [(i / rate, "good", good, {}) for i in range(n_good)]
    rng = random.Random(seed)
    extra = [(rng.uniform(0, seconds), *bad[k % len(bad)]) for k in range(n_good // 4)]
    return clean, sorted(extra, key=lambda j: j[0])


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def summarise(results, label: str) -> dict:
    good = [r for r in results if r[0] == "good"]
    lat = [r[2] for r in good]
    bad = [r for r in results if r[0] != "good"]
    return {
        "kind": label, "good": len(good), "good_not_200": sum(1 for r in good if r[1] != 200),
        "bad": len(bad), "bad_4xx": sum(1 for r in bad if r[1] is not None and 400 <= r[1] < 500),
        "bad_5xx": sum(1 for r in bad if r[1] is not None and r[1] >= 500),
        "bad_no_answer": sum(1 for r in bad if r[1] is None and r[0] not in EARLY_CLOSE),
        "oversized_closed_early": sum(1 for r in bad if r[1] is None and r[0] in EARLY_CLOSE),
        "p50_ms": round(percentile(lat, 0.5) * 1e3, 2), "p99_ms": round(percentile(lat, 0.99) * 1e3, 2),
    }


def markdown(result: dict, command: str) -> str:
    s = result["summary"]
    lines = [f"# Good requests under 20 % bad traffic ({result['started']})", "",
             f"`{command}` — churn model, 1 worker, {result['rate']} good req/s (+{result['rate'] / 4:g} bad/s "
             f"in mixed rounds), {result['seconds']} s per round, {result['rounds']} rounds of each; "
             f"load average at start {result['load_avg_start']}.", "",
             "| round | kind | good | good ≠ 200 | bad | bad 4xx | bad 5xx | p50 ms | p99 ms |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(result["rounds_detail"]):
        lines.append(f"| {i // 2 + 1} | {r['kind']} | {r['good']} | {r['good_not_200']} | {r['bad']} | {r['bad_4xx']} "
                     f"| {r['bad_5xx']} | {r['p50_ms']} | {r['p99_ms']} |")
    lines += ["", f"Median p99: clean **{s['p99_clean_ms']} ms**, mixed **{s['p99_mixed_ms']} ms**, ratio "
                  f"**{s['ratio']}×** (target ≤ {TARGET_RATIO}×: {'met' if s['met'] else 'missed'}). "
                  f"Bad requests: {s['bad']} sent, {s['bad_4xx']} answered 4xx, {s['bad_5xx']} 5xx; "
                  f"{s['oversized_closed_early']} oversized bodies closed by the server before the client "
                  f"finished sending. Server CPU {s['server_cpu_s']} s in all.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a trained churn model directory (default: train examples/churn)")
    ap.add_argument("--rate", type=float, default=200.0, help="good requests per second")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each round")
    ap.add_argument("--rounds", type=int, default=5, help="clean+mixed pairs; medians are reported")
    ap.add_argument("--threads", type=int, default=64, help="client threads sending on schedule")
    ap.add_argument("--pin", action="store_true",
                    help="pin the server to the first CPU and the clients to the rest (needs ≥ 2 CPUs)")
    ap.add_argument("--out", type=Path, help="write serve_faults.json and serve_faults.md into this folder")
    args = ap.parse_args(argv)
    command = "python bench/serve_faults.py " + " ".join(argv if argv is not None else sys.argv[1:])
    os.environ["BENTOML_DO_NOT_TRACK"] = "true"
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="tk-bench-faults-") as tmp:
        model_dir = args.model or train_example("churn", Path(tmp) / "churn")
        row = sample_row(model_dir, "churn")
        good = json.dumps({"rows": [row]}).encode()
        bad = bad_bodies(row, MAX_BODY)
        env = {"BENTOML_HOME": str(Path(tmp) / "bentoml"), "TK_MAX_BODY_BYTES": str(MAX_BODY),
               "TK_WORKERS": "1", "TK_MAX_LATENCY_MS": "5000"}
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
    summary = {"p99_clean_ms": clean_p99, "p99_mixed_ms": mixed_p99, "ratio": round(mixed_p99 / clean_p99, 2),
               "met": mixed_p99 <= TARGET_RATIO * clean_p99, "worker_restarted": restarted,
               "server_cpu_s": round(server_cpu, 1),
               **{k: sum(d[k] for d in mixed) for k in ("bad", "bad_4xx", "bad_5xx", "bad_no_answer",
                                                         "oversized_closed_early")},
               "good_not_200": sum(d["good_not_200"] for d in detail)}
    result = {"started": started, "command": command, "pinned": args.pin, "rate": args.rate, "seconds": args.seconds,
              "rounds": args.rounds, "load_avg_start": round(os.getloadavg()[0], 2), "machine": machine(),
              "summary": summary, "rounds_detail": detail}
    print(markdown(result, command))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "serve_faults.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / "serve_faults.md").write_text(markdown(result, command))


if __name__ == "__main__":
    main()
