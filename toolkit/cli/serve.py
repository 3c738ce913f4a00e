"""`tk serve DIR` and `tk export DIR --bento NAME`: the CLI's doors to serving.

`serve` replaces the tk process with `python -m bentoml serve
serving.service:TkService` (exec, so Ctrl-C and SIGTERM reach BentoML
directly), the model given by `TK_MODEL`, bound to 127.0.0.1 unless told.
A model directory's `model.onnx` is verified against its manifest first (a
changed byte is one clear error, exit 2), and the service verifies it again
when it loads it. The service has no authentication unless `TK_API_TOKEN` is
set: `--host` other than a loopback address prints a warning saying so.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

from toolkit.errors import TkError


def _cores() -> int:
    """CPUs this process may run on (toolkit.training.devices.cpu_count: one rule for training and serving)."""
    from toolkit.training.devices import cpu_count

    return cpu_count()


def serve_command(
    model_dir: str | os.PathLike, port: int, host: str = "127.0.0.1", workers: int = 1, threads: int | None = None
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment `serve` runs (separate, so it can be tested)."""
    path = Path(model_dir).expanduser()
    if path.is_dir():
        if not (path / "model.onnx").is_file():
            raise TkError(f"{model_dir}: no model.onnx here (train with `tk train` first)")
        from toolkit.runtime import model_dir as artifact

        artifact.read_model_dir(path, ["model.onnx"])  # TkError naming the file when it was changed
    elif not path.is_file():
        raise TkError(f"{model_dir}: no model.onnx here (train with `tk train` first)")
    if not 0 < port < 65536:
        raise TkError(f"--port {port}: must be 1..65535")
    if workers < 1:
        raise TkError(f"--workers {workers}: must be ≥ 1")
    if threads is not None and threads < 1:
        raise TkError(f"--threads {threads}: must be ≥ 1")
    env = {**os.environ, "TK_MODEL": str(path.resolve()), "TK_WORKERS": str(workers)}
    if threads is not None:
        env["TK_THREADS"] = str(threads)
    else:  # the service's default: cores // workers - 1, at least 1
        env.pop("TK_THREADS", None)
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:TkService", "--host", host, "--port", str(port)]
    return cmd, env


def serve(
    model_dir: str | os.PathLike,
    port: int = 3000,
    host: str = "127.0.0.1",
    workers: int = 1,
    threads: int | None = None,
) -> None:
    """Serve a model directory over HTTP with BentoML; does not return."""
    cmd, env = serve_command(model_dir, port, host, workers, threads)
    from toolkit.common import log

    warning = exposure_warning(host, env)
    if warning:
        log.warn(warning)
    threads = env.get("TK_THREADS") or max(1, _cores() // workers - 1)
    log.info(
        f"serving {env['TK_MODEL']} on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''} × {threads} onnxruntime thread(s))"
    )
    root = Path(__file__).resolve().parents[1]  # so `serving` imports from a source checkout too
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    os.execvpe(cmd[0], cmd, env)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: reachable from this machine only."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, env: dict) -> str | None:
    """The warning `tk serve --host HOST` prints when other machines can reach an open service."""
    if is_loopback(host):
        return None
    if env.get("TK_API_TOKEN", "").strip():
        return (
            f"--host {host}: other machines can reach this service; requests need the TK_API_TOKEN bearer "
            "token, but traffic is plain HTTP: put a TLS reverse proxy in front (docs/serving-security.md)"
        )
    return (
        f"--host {host}: other machines can reach this service and it has NO authentication: anyone who "
        "can connect can call /predict and read /metadata. Set TK_API_TOKEN, or keep 127.0.0.1 behind a "
        "reverse proxy (docs/serving-security.md)"
    )


def export_bento(model_dir: str | os.PathLike, name: str) -> str:
    """`tk export DIR --bento NAME`: store the model in the BentoML model store; prints the tag."""
    from exporters.bento import export_bento as _export
    from toolkit.common import log

    tag = _export(model_dir, name)
    log.info(
        f"stored {tag} in the BentoML model store; serve it with "
        f"`TK_BENTO_MODEL={tag.split(':')[0]} bentoml serve` (or `bentoml build` to package it)"
    )
    return tag
