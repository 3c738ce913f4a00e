"""The BentoML service around a tk ONNX file: `bentoml serve serving.service:TkService`.

Which model (read once, at import, because the request schema is built from it):
- `TK_MODEL=<model dir or .onnx>`: that file, no model store;
- else `TK_BENTO_MODEL=<tag>` (e.g. `churn`, `churn:3fx…`) from the BentoML model
  store, put there by `tk export DIR --bento NAME`; unset: inside a built bento,
  the model it was built with, else the newest model tk put there. The
  reference sits at class scope, so `bentoml build` packages it.

Endpoints (JSON in, JSON out):
- `POST /predict` {"rows": [row, …]} → [prediction, …]: concurrent requests
  are batched (`TK_MAX_BATCH_SIZE` rows at most; a request that waited over
  `TK_MAX_LATENCY_MS` in the queue gets 503). Batching is greedy by default
  (serving.batcher: no timer, the batch is whatever queued while the previous
  one ran); `TK_BATCHING=bentoml` uses BentoML's `batchable=True` dispatcher
  instead, which waits to fill batches and, measured here, keeps waiting long
  after a burst. Rows are validated per request, before batching, so a bad
  request never fails the others in its batch.
- `POST /predict_bulk` {"rows": [...]}: the same answer, not batched (scoring files).
- `GET /metadata`: inputs, outputs, classes, versions, metrics, serving settings.
- `POST /ping` → {"ok": true}: a trivial endpoint (the framework's ceiling).
- BentoML's `/livez`, `/readyz`, `/metrics` stay.

A row: one field per model input (see serving.schemas for the exact rules);
a prediction: {"<output>": {"label": …, "probabilities": {class: p}}} or
{"<output>": {"value": …}}. Errors: 400 {"error": "rows[3].tenure: …",
"detail": [{"loc", "type", "msg"}]}; 413 over `TK_MAX_BODY_BYTES`; 415 for a
body that is not JSON (form-encoded and text/plain bodies are read as JSON,
so a `curl -d` without a content-type works).

Processes: `TK_WORKERS` workers (default 1), each with one Predictor whose
onnxruntime uses `TK_THREADS` threads (default: cores // workers - 1, at least
1, so every worker's event loop keeps a core).
"""

from __future__ import annotations

import gc
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")  # bentoml posts usage home otherwise

import bentoml  # noqa: E402
from bentoml.validators import ContentType  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from serving import schemas  # noqa: E402
from serving.batcher import Batcher, Overloaded  # noqa: E402
from serving.docs import MetadataDoc  # noqa: E402
from serving.guard import Guard  # noqa: E402
from toolkit.runtime import Predictor  # noqa: E402

try:  # the CLI may have cached "track" before this module set the variable
    from bentoml._internal.utils.analytics import usage_stats

    usage_stats.do_not_track.cache_clear()
except Exception:  # pragma: no cover - a private API; losing it only loses this nicety
    pass


class _QuietClientErrors(logging.Filter):
    """BentoML logs every 400 as an ERROR with a traceback: a client's mistake is one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ == "ValidationError":
            record.exc_info, record.exc_text = None, None
            record.msg, record.args = "400 on %s: %d validation error(s)", (record.args[0], exc.error_count())
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("bentoml._internal.server.http_app").addFilter(_QuietClientErrors())


def _int_env(name: str, default: int, low: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name}={raw!r}: expected an integer") from None
    if value < low:
        raise RuntimeError(f"{name}={value}: must be ≥ {low}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


WORKERS = _int_env("TK_WORKERS", 1)
# Each worker's event loop (HTTP, JSON, pydantic) needs a core of its own next to
# onnxruntime's threads: workers × (threads + 1) ≤ cores where possible, ≥ 1 thread.
# On 2 cores that is 1 thread: 2 threads measured slower (onnxruntime spins).
THREADS = _int_env("TK_THREADS", max(1, _cores() // WORKERS - 1))
MAX_BATCH_SIZE = _int_env("TK_MAX_BATCH_SIZE", 128)
MAX_LATENCY_MS = _int_env("TK_MAX_LATENCY_MS", 1000)
MAX_BODY_BYTES = _int_env("TK_MAX_BODY_BYTES", 4 * 1024 * 1024)
UNKNOWN_FIELDS = os.environ.get("TK_UNKNOWN_FIELDS", "forbid").strip() or "forbid"
DEVICE = os.environ.get("TK_DEVICE", "auto").strip() or "auto"
BATCHING = os.environ.get("TK_BATCHING", "tk").strip().lower() or "tk"
if BATCHING not in ("tk", "bentoml"):
    raise RuntimeError(f"TK_BATCHING={BATCHING!r}: expected tk (greedy, the default) or bentoml (its dispatcher)")
TRACING = os.environ.get("TK_TRACING", "").strip().lower() in ("1", "true", "yes")
METRICS = os.environ.get("TK_METRICS", "1").strip().lower() not in ("0", "false", "no")


# ---- which model -------------------------------------------------------------


def _newest_tk_model():
    models = [m for m in bentoml.models.list() if m.info.labels.get("tk") == "model"]
    if not models:
        raise RuntimeError(f"no tk model in the BentoML model store ({_store_path()}): run "
                           "`tk export runs/MODEL --bento NAME` first, or set TK_MODEL=<model dir>")
    return max(models, key=lambda m: m.info.creation_time)


def _store_path() -> str:
    from bentoml._internal.configuration.containers import BentoMLContainer

    return os.path.join(BentoMLContainer.bentoml_home.get(), "models")


def _locate() -> tuple[Path, Any, dict]:
    """(path of model.onnx, BentoModel reference or None, manifest dict)."""
    direct = os.environ.get("TK_MODEL", "").strip()
    if direct:
        path = Path(direct).expanduser()
        onnx_path = path / "model.onnx" if path.is_dir() else path
        if not onnx_path.exists():
            raise RuntimeError(f"TK_MODEL={direct}: no such model directory or .onnx file")
        return onnx_path, None, _read_json(onnx_path.parent / "manifest.json")
    tag = os.environ.get("TK_BENTO_MODEL", "").strip() or _bento_model_tag()
    if tag:
        try:
            stored = bentoml.models.get(tag)  # the local store only: no remote look-up
        except bentoml.exceptions.NotFound:
            raise RuntimeError(f"TK_BENTO_MODEL={tag}: not in the BentoML model store ({_store_path()}); "
                               f"run `tk export runs/MODEL --bento {tag.split(':')[0]}`") from None
    else:
        stored = _newest_tk_model()
    ref = bentoml.models.BentoModel(stored.tag)
    return Path(stored.path) / "model.onnx", ref, _read_json(Path(stored.path) / "manifest.json")


def _bento_model_tag() -> str:
    """Inside a built bento (…/src/serving/service.py beside …/bento.yaml): the model it was built with."""
    bento_yaml = Path(__file__).resolve().parents[2] / "bento.yaml"
    if not bento_yaml.is_file():
        return ""
    import yaml

    try:
        info = yaml.safe_load(bento_yaml.read_text()) or {}
        for svc in info.get("services", []):
            if svc.get("name") == "tk" and svc.get("models"):
                return str(svc["models"][0]["tag"])
    except (OSError, ValueError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        pass
    return ""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


MODEL_PATH, MODEL_REF, MANIFEST = _locate()
_signature = Predictor(MODEL_PATH, threads=1, device="cpu")
INPUTS: dict[str, str] = dict(_signature.inputs)
Row = schemas.row_model(INPUTS, UNKNOWN_FIELDS)
Prediction = schemas.prediction_model(_signature.output_features, _signature.outputs)


def _metadata(p: Predictor) -> dict:
    import onnxruntime

    meta = p.metadata
    return {
        "model": str(MODEL_REF.tag) if MODEL_REF is not None else str(MODEL_PATH),
        "inputs": {c: "number" if t == schemas.FLOAT else "string" for c, t in p.inputs.items()},
        "outputs": p.outputs,
        "features": meta.get("tk.features", {}),
        "classes": p.classes,
        "metrics": meta.get("tk.metrics", {}),
        "versions": {"tk": meta.get("tk.version"), "trained_with": MANIFEST.get("versions", {}),
                     "onnxruntime": onnxruntime.__version__, "bentoml": bentoml.__version__},
        "serving": {"workers": WORKERS, "threads_per_worker": THREADS, "max_batch_size": MAX_BATCH_SIZE,
                    "max_latency_ms": MAX_LATENCY_MS, "max_body_bytes": MAX_BODY_BYTES,
                    "unknown_fields": UNKNOWN_FIELDS, "device": DEVICE, "batching": BATCHING},
    }


METADATA_JSON = json.dumps(_metadata(_signature), separators=(",", ":")).encode()
del _signature


async def _metadata_endpoint(_request) -> Response:
    return Response(METADATA_JSON, media_type="application/json")


_extra = Starlette(routes=[Route("/metadata", _metadata_endpoint, methods=["GET"])])
JSON = ContentType("application/json")  # a fixed media type: BentoML skips rebuilding the schema per response


@bentoml.service(
    name="tk",
    workers=WORKERS,
    threads=1,  # one batch at a time per worker; onnxruntime has THREADS of its own
    traffic={"timeout": 60},
    metrics={"enabled": METRICS},
    http={"host": "127.0.0.1", "port": 3000},
    logging={"access": {"enabled": False}},
    **({} if TRACING else {"tracing": {"excluded_urls": ["/predict", "/ping"]}}),
)
@bentoml.asgi_app(_extra, path="/")
class TkService:
    if MODEL_REF is not None:
        model = MODEL_REF  # class scope: `bentoml build` packages the model

    def __init__(self) -> None:
        self.predictor = Predictor(MODEL_PATH, threads=THREADS, device=DEVICE)
        self.predictor.run([{}])  # warm the session (first run allocates)
        self.batcher = Batcher(self._predict, MAX_BATCH_SIZE, MAX_LATENCY_MS)
        gc.collect()
        gc.freeze()  # start-up objects leave the GC's view: shorter, rarer pauses

    def _predict(self, rows: list) -> list[dict]:
        return self.predictor.predict(schemas.columns_of(rows, Row))

    if BATCHING == "bentoml":

        @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
        def predict(self, rows: list[Row]) -> Annotated[list[Prediction], JSON]:
            """Predict rows; concurrent requests are batched together (BentoML's dispatcher)."""
            return self._predict(rows)

    else:

        @bentoml.api
        async def predict(self, rows: list[Row]) -> Annotated[list[Prediction], JSON]:
            """Predict rows; concurrent requests are batched together."""
            try:
                return await self.batcher(rows)
            except Overloaded as e:
                return JSONResponse({"error": f"server overloaded: {e} (TK_MAX_LATENCY_MS={MAX_LATENCY_MS})"},
                                    status_code=503, headers={"Retry-After": "1"})

    @bentoml.api
    def predict_bulk(self, rows: list[Row]) -> Annotated[list[Prediction], JSON]:
        """Predict many rows in one call, without adaptive batching."""
        return self._predict(rows)

    @bentoml.api
    async def ping(self) -> Annotated[dict, JSON]:
        """A trivial endpoint: the framework's own ceiling."""
        return {"ok": True}


TkService.add_asgi_middleware(Guard, paths=("/predict", "/predict_bulk"), max_body_bytes=MAX_BODY_BYTES)
TkService.add_asgi_middleware(MetadataDoc)
