"""A small, fast HTTP/1.1 load generator: asyncio, raw keep-alive sockets, one thread.

    stats = run("127.0.0.1", 3000, "/predict", body, concurrency=32, duration=5)

Each of `concurrency` connections sends one request, reads the whole answer
(Content-Length framing, which BentoML/uvicorn always send here), records the
latency and sends the next: a closed loop, like N users without think time.
The requests are pre-encoded bytes, so the client's own cost is a write, a read
and a header scan per request (~20 µs): `client_cpu_s` in the result says how
much of a core it used; `python -m bench.loadgen` measures its ceiling against
a trivial in-process server.

Bounded: stops after `duration` seconds or `max_requests`, whichever is first;
every socket has a timeout (a request that takes longer counts as an error).
"""

from __future__ import annotations

import asyncio
import time

from bench.common import percentile


def request_bytes(
    host: str, port: int, path: str, body: bytes | None, method: str = "POST", content_type: str = "application/json"
) -> bytes:
    """One keep-alive HTTP/1.1 request, encoded once and sent as it is for every request of a run."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


class _Conn(asyncio.Protocol):
    """One keep-alive connection in a closed loop, driven by callbacks (no task per request)."""

    def __init__(self, shared: "_Shared") -> None:
        self.s = shared
        self.buf = bytearray()
        self.t0 = 0.0
        self.transport = None
        self.body_at = self.need = -1  # where the body starts / the whole response's size, once the head is read
        self.status = 0
        self.finished = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        s = self.s
        if s.budget <= 0 or time.perf_counter() >= s.deadline:
            self.finished = True
            self.transport.close()
            return
        s.budget -= 1
        self.buf.clear()
        self.body_at = self.need = -1
        self.t0 = time.perf_counter()
        self.transport.write(s.payload)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.need < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[: end + 2]).lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15 : head.index(b"\r\n", i)]) if i >= 0 else 0
            self.body_at, self.need = end + 4, end + 4 + length
            self.status = int(buf[9:12])
        if len(buf) < self.need:
            return
        dt = time.perf_counter() - self.t0
        s = self.s
        if self.status != 200:
            s.errors.append(self.status)
        elif s.check is not None and not s.check(bytes(buf[self.body_at : self.need])):
            s.errors.append("bad answer")
        else:
            s.lat.append(dt)
        self.send()

    def connection_lost(self, exc) -> None:
        s = self.s
        if not self.finished:  # dropped mid-request (or by the watchdog): an error; reconnect
            s.errors.append(type(exc).__name__ if exc else "closed")
            if time.perf_counter() < s.deadline and s.budget > 0:
                s.reconnect()
        s.done_one()


class _Shared:
    def __init__(self, loop, host, port, payload, deadline, budget, check, concurrency):
        self.loop, self.host, self.port, self.payload = loop, host, port, payload
        self.deadline, self.budget, self.check = deadline, budget, check
        self.lat: list[float] = []
        self.errors: list = []
        self.open = 0
        self.finished = loop.create_future()
        self.conns: list[_Conn] = []

    def reconnect(self) -> None:
        self.open += 1
        self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            _, conn = await self.loop.create_connection(lambda: _Conn(self), self.host, self.port)
            self.conns.append(conn)
        except OSError as e:
            self.errors.append(type(e).__name__)
            self.done_one()

    def done_one(self) -> None:
        self.open -= 1
        if self.open <= 0 and not self.finished.done():
            self.finished.set_result(None)


async def _run(host, port, payload, concurrency, duration, max_requests, timeout, check):
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    c0 = time.process_time()
    s = _Shared(loop, host, port, payload, t0 + duration, max_requests, check, concurrency)
    for _ in range(concurrency):
        s.reconnect()
    # watchdog: a request in flight longer than `timeout` is an error; its connection is dropped
    while not s.finished.done():
        try:
            await asyncio.wait_for(asyncio.shield(s.finished), 0.25)
        except TimeoutError:
            now = time.perf_counter()
            for c in s.conns:
                if c.transport is not None and not c.transport.is_closing() and now - c.t0 > timeout:
                    c.transport.close()
            if now > s.deadline + timeout + 5:
                break
    wall = time.perf_counter() - t0
    return s.lat, s.errors, wall, time.process_time() - c0


def run(
    host: str,
    port: int,
    path: str,
    body: bytes | None,
    concurrency: int,
    duration: float = 5.0,
    max_requests: int = 10**9,
    timeout: float = 10.0,
    method: str = "POST",
    check=None,
    content_type: str = "application/json",
) -> dict:
    """Closed-loop load; returns req/s, p50/p99 ms, errors, client CPU seconds."""
    payload = request_bytes(host, port, path, body, method, content_type)
    lat, errors, wall, cpu = asyncio.run(_run(host, port, payload, concurrency, duration, max_requests, timeout, check))
    lat.sort()
    return {
        "concurrency": concurrency,
        "requests": len(lat) + len(errors),
        "ok": len(lat),
        "errors": len(errors),
        "error_kinds": sorted({str(e) for e in errors})[:5],
        "wall_s": round(wall, 3),
        "req_per_s": round(len(lat) / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "client_cpu_s": round(cpu, 3),
        "client_cpu_pct": round(100 * cpu / wall, 1) if wall else 0.0,
    }


# ---- the generator's own ceiling ---------------------------------------------------


class _Trivial(asyncio.Protocol):
    """Answers every request on the connection with a fixed 200 (the generator's ceiling)."""

    ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'

    def connection_made(self, transport) -> None:
        self.transport, self.buf = transport, bytearray()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[: end + 2]).lower()
            i = head.find(b"content-length:")
            size = end + 4 + (int(head[i + 15 : head.index(b"\r\n", i)]) if i >= 0 else 0)
            if len(self.buf) < size:
                return
            del self.buf[:size]
            self.transport.write(self.ANSWER)


def generator_ceiling(concurrency: int = 32, duration: float = 3.0, body: bytes = b'{"rows":[]}') -> dict:
    """The generator against a trivial asyncio server in a child process: what the client alone can do."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_serve_trivial, args=(q, duration + 10), daemon=True)
    p.start()
    try:
        port = q.get(timeout=20)
        return run("127.0.0.1", port, "/", body, concurrency, duration)
    finally:
        p.terminate()
        p.join(5)


def _serve_trivial(q, lifetime: float) -> None:
    async def main():
        server = await asyncio.get_running_loop().create_server(_Trivial, "127.0.0.1", 0)
        q.put(server.sockets[0].getsockname()[1])
        await asyncio.sleep(lifetime)  # bounded: the parent terminates it sooner
        server.close()

    asyncio.run(main())


if __name__ == "__main__":
    print(generator_ceiling())
