"""Start `bentoml serve` in a subprocess and stop it, children included (tests, bench).

    with ServerProcess(model="runs/churn", env={"TK_WORKERS": "2"}) as server:
        server.url   # http://127.0.0.1:<free port>

The server gets its own session (process group), so stopping it signals the
group; the PIDs of every descendant seen while it ran are collected from /proc
and killed too, because a hung request can leave a worker deaf to SIGTERM.
Bounded: start-up waits at most `start_timeout` s, stop at most `stop_timeout`
s before SIGKILL.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """PIDs of all processes below `pid` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def cpu_seconds(pids) -> float:
    """user + system CPU seconds of these processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


class ServerProcess:
    """`bentoml serve serving.service:TkService` on 127.0.0.1 and a free port.

    `cmd(port)`, if given, builds another server's command line instead (a
    benchmark's peer servers); it is ready when GET `ready_path` answers 200.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        env: dict | None = None,
        port: int | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 10.0,
        log: str | os.PathLike | None = None,
        cmd=None,
        ready_path: str = "/readyz",
    ):
        self.cmd, self.ready_path = cmd, ready_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", **(env or {})}
        if model is not None:
            self.env["TK_MODEL"] = str(model)
        self.env.setdefault("BENTOML_HOME", str(Path(tempfile.gettempdir()) / "tk-bentoml-home"))
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.log_path = Path(log) if log else Path(tempfile.mkstemp(prefix="tk-serve-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.pids: set[int] = set()

    def start(self) -> "ServerProcess":
        cmd = (
            self.cmd(self.port)
            if self.cmd is not None
            else [
                sys.executable,
                "-m",
                "bentoml",
                "serve",
                "serving.service:TkService",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
        )
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} … exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            self.pids |= descendants(self.proc.pid)
            if self._ready():
                self.pids |= descendants(self.proc.pid)
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{cmd[0]} … not ready after {self.start_timeout:.0f} s:\n{self.log()[-3000:]}")

    def _ready(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", self.ready_path)
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def all_pids(self) -> set[int]:
        if self.proc is None:
            return set()
        self.pids |= descendants(self.proc.pid)
        return {self.proc.pid, *self.pids}

    def stop(self) -> int | None:
        """SIGTERM the group, wait, SIGKILL what is left; returns the server's exit code."""
        if self.proc is None:
            return None
        pids = self.all_pids()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                pass
        # workers that ignored SIGTERM, and anything they started; a PID is killed
        # only while it is still ours (our process group, or below the server)
        for pid in (pids - {self.proc.pid}) | descendants(self.proc.pid):
            try:
                if os.getpgid(pid) == self.proc.pid or pid in descendants(self.proc.pid):
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait(self.stop_timeout)
        self._log.close()
        return code

    def alive(self) -> set[int]:
        """PIDs of this server that still exist (after stop: should be empty)."""
        out = set()
        for pid in self.pids | ({self.proc.pid} if self.proc else set()):
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
                if state != b"Z":
                    out.add(pid)
            except OSError:
                pass
        return out

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
