"""The service's settings: one frozen object read from `TK_*` environment variables.

    settings = Settings.from_env()            # what `serving.service` reads at import
    settings = Settings(model="runs/churn", max_rows=50)   # what a test builds

Reading the settings does no work beyond parsing strings: no model is opened
(serving.model_source does that when the service is built). A bad value is a
`SettingsError` naming the variable and the value.

| variable | default | meaning |
|---|---|---|
| TK_MODEL | | a model directory (its manifest is verified) or a bare .onnx file |
| TK_BENTO_MODEL | | a BentoML model store tag (when TK_MODEL is unset) |
| TK_WORKERS | 1 | worker processes |
| TK_THREADS | cores ÷ workers − 1, ≥ 1 | onnxruntime threads per worker |
| TK_MAX_BATCH_SIZE | 128 | rows per batch of /predict; a bigger request runs in pieces of ~10 ms of work, others served between them |
| TK_MAX_LATENCY_MS | 1000 | a request queued longer gets 503 |
| TK_MAX_BODY_BYTES | 4 MiB | request body limit, every route (413) |
| TK_MAX_ROWS | 10000 | rows per request (413), checked before any row is validated |
| TK_MAX_ERRORS | 20 | validation errors listed in a 400 (the rest are counted) |
| TK_CHUNK_ROWS | 256 | rows per onnxruntime run: a worker's memory follows this, not the request |
| TK_UNKNOWN_FIELDS | forbid | or ignore |
| TK_DEVICE | auto | cpu, cuda or auto |
| TK_BATCHING | tk | or bentoml (BentoML's dispatcher) |
| TK_API_TOKEN | | when set, every route but /livez and /readyz needs `Authorization: Bearer <token>` |
| TK_ALLOWED_HOSTS | | comma-separated Host names (port optional) the service answers; unset: any |
| TK_TRACING, TK_METRICS | off, on | BentoML's tracing of /predict and its /metrics |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields


class SettingsError(ValueError):
    """A TK_* variable with a bad value: names it and the value."""


def cores() -> int:
    """CPUs this process may run on (toolkit.training.devices.cpu_count: one rule for training and serving)."""
    from toolkit.training.devices import cpu_count

    return cpu_count()


@dataclass(frozen=True)
class Settings:
    model: str = ""
    bento_model: str = ""
    workers: int = 1
    threads: int = 0  # 0: cores // workers - 1, at least 1 (see `onnx_threads`)
    max_batch_size: int = 128
    max_latency_ms: int = 1000
    max_body_bytes: int = 4 * 1024 * 1024
    max_rows: int = 10_000
    max_errors: int = 20
    chunk_rows: int = 256
    unknown_fields: str = "forbid"
    device: str = "auto"
    batching: str = "tk"
    tracing: bool = False
    metrics: bool = True
    api_token: str = field(default="", repr=False)  # never printed
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "workers",
            "max_batch_size",
            "max_latency_ms",
            "max_body_bytes",
            "max_rows",
            "max_errors",
            "chunk_rows",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SettingsError(f"{_var(name)}={value!r}: must be an integer ≥ 1")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise SettingsError(f"TK_THREADS={self.threads!r}: must be an integer ≥ 1")
        _choice("unknown_fields", self.unknown_fields, ("forbid", "ignore"))
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        _choice("batching", self.batching, ("tk", "bentoml"))
        if self.api_token and (
            len(self.api_token) < 16 or not self.api_token.isprintable() or any(c.isspace() for c in self.api_token)
        ):
            raise SettingsError(
                "TK_API_TOKEN: must be at least 16 printable characters without spaces "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
            )

    @property
    def onnx_threads(self) -> int:
        """onnxruntime threads per worker: each worker's event loop keeps a core of its own.

        workers × (threads + 1) ≤ cores where possible, at least 1 (on 2 cores that is 1:
        2 threads measured slower, onnxruntime spins)."""
        return self.threads or max(1, cores() // self.workers - 1)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """The settings from `env` (default: os.environ); unset or blank variables keep their defaults."""
        env = os.environ if env is None else env
        values: dict = {}
        for f in fields(cls):
            raw = env.get(_var(f.name), "").strip()
            if not raw:
                continue
            if f.type == "int":
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise SettingsError(f"{_var(f.name)}={raw!r}: expected an integer") from None
            elif f.type == "bool":
                values[f.name] = raw.lower() not in ("0", "false", "no", "off")
            elif f.name == "allowed_hosts":
                values[f.name] = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
            elif f.name in ("unknown_fields", "device", "batching"):
                values[f.name] = raw.lower()
            else:
                values[f.name] = raw
        return cls(**values)

    def public(self) -> dict:
        """What /metadata shows: the limits and choices, never the token or a path."""
        return {
            "workers": self.workers,
            "threads_per_worker": self.onnx_threads,
            "max_batch_size": self.max_batch_size,
            "max_latency_ms": self.max_latency_ms,
            "max_body_bytes": self.max_body_bytes,
            "max_rows": self.max_rows,
            "chunk_rows": self.chunk_rows,
            "unknown_fields": self.unknown_fields,
            "device": self.device,
            "batching": self.batching,
            "authentication": "bearer token" if self.api_token else "none",
        }


def _var(name: str) -> str:
    return {"model": "TK_MODEL", "bento_model": "TK_BENTO_MODEL"}.get(name, f"TK_{name.upper()}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SettingsError(f"{_var(name)}={value!r}: expected one of {', '.join(allowed)}")
