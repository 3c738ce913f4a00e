"""bench.serve_faults's traffic: requests sent at scheduled instants by a pool of threads (an open
loop), good ones from this process and bad ones from a second client process on the same clock.

    good, bad = schedules(good_body, bad_bodies, rate=200, seconds=5, seed=0)
    results = run_mixed(port, good, bad, threads=64)   # [(kind, HTTP status or None, latency s)]
"""

from __future__ import annotations

import http.client
import random
import time
from concurrent.futures import ThreadPoolExecutor


def post(port: int, body: bytes, extra: dict, timeout: float = 30.0) -> int | None:
    """HTTP status, or None when the server closed the connection before answering."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        chunked = extra.get("chunked", False)
        data = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
        conn.request(
            "POST",
            "/predict",
            body=data,
            encode_chunked=chunked,
            headers=extra.get("headers") or {"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (ConnectionError, http.client.HTTPException, TimeoutError):
        return None
    finally:
        conn.close()


def run_schedule(
    port: int, jobs: list[tuple[float, str, bytes, dict]], threads: int, start: float | None = None
) -> list[tuple[str, int | None, float]]:
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
        status = post(port, body, extra)
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
