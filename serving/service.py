"""The BentoML service around a tk ONNX file: `bentoml serve serving.service:TkService`.

Importing this module does one thing: `SETTINGS = Settings.from_env()` (the
`TK_*` variables, serving.settings). `build_service(settings)` builds the
service from settings: finds and verifies the model (serving.model_source),
builds the request schema from its inputs, and declares the BentoML service
class. `TkService`, the name `bentoml serve` / `bentoml build` /
bentofile.yaml ask for, is `build_service(SETTINGS)`, built the first time
the name is looked up (PEP 562 module `__getattr__`), so the module can be
imported, and its pieces tested, without a model on disk.

Endpoints (JSON in, JSON out):
- `POST /predict` {"rows": [row, …]} → [prediction, …]: concurrent requests
  are batched (serving.batcher: greedy, `TK_MAX_BATCH_SIZE` rows at most; a
  bigger request runs in pieces of ~10 ms of work, other requests served
  between them; a request that waited over `TK_MAX_LATENCY_MS` in the queue
  gets 503).
  `TK_BATCHING=bentoml` uses BentoML's `batchable=True` dispatcher instead.
  Rows are validated per request, before batching (serving.guard and
  serving.request), so a bad request never fails the others in its batch.
- `POST /predict_bulk` {"rows": [...]}: the same answer, not batched.
- `POST /explain` {"rows": [...]} → [{output: {input: attribution}}, …]: why, batched and limited like
  /predict; /metadata `explain` has the baseline. A model file without explanations answers 501, naming
  the command that adds them (tk export MODEL_DIR --rebuild).
- `GET /metadata`: inputs, outputs, classes, versions, metrics, limits (no paths).
- `POST /ping` → {"ok": true}: a trivial endpoint (the framework's ceiling).
- `GET /`: a plain page of links (serving.docs); BentoML's `/livez`,
  `/readyz`, `/metrics`, `/docs.json` stay.

Limits, all 4xx naming the variable: `TK_MAX_BODY_BYTES` (413, every route),
`TK_MAX_ROWS` (413), `TK_MAX_ERRORS` (errors listed in a 400), one
Content-Type, JSON only (415), `TK_API_TOKEN` (401), `TK_ALLOWED_HOSTS`
(400). The service has no authentication unless TK_API_TOKEN is set:
docs/serving-security.md.

Processes: `TK_WORKERS` workers (default 1), each with one Predictor whose
onnxruntime uses `TK_THREADS` threads and runs at most `TK_CHUNK_ROWS` rows at
a time.
"""

import os  # no `from __future__ import annotations`: BentoML reads the endpoints' annotations,

# which name classes local to build_service, so they must be objects, not strings
from serving.settings import Settings

SETTINGS = Settings.from_env()
#: a request bigger than TK_MAX_BATCH_SIZE runs in pieces of about PIECE_MS of work (the first of
#: PIECE_ROWS rows): a one-row request waits for one piece at most (reviews text model, 10,000 rows
#: of 380 characters: one-row p50 / p99 20 / 48 ms meanwhile with pieces of 32, 43 / 85 ms with 128)
PIECE_ROWS, PIECE_MS = 32, 10.0


def __getattr__(name: str):
    """`serving.service.TkService`: the service built from SETTINGS, on first use (then cached)."""
    if name == "TkService":
        service = build_service(SETTINGS)
        globals()["TkService"] = service
        return service
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_service(settings: Settings):  # noqa: C901 - one class declaration
    """The BentoML service (a `bentoml.Service`) serving `settings`' model with `settings`' limits."""
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")  # bentoml posts usage home otherwise
    import gc
    import json
    from typing import Annotated

    import bentoml
    import pydantic_core
    from bentoml.validators import ContentType
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from serving import schemas
    from serving.batcher import Batcher, Overloaded
    from serving.docs import ServiceDocs
    from serving.guard import Guard
    from serving.model_source import locate
    from serving.request import RowsReader
    from toolkit.runtime.predictor import Predictor

    _quiet_bentoml()
    source = locate(settings)
    signature = Predictor(source.onnx, threads=1, device="cpu")
    Row = schemas.row_model(dict(signature.inputs), settings.unknown_fields, lists=signature.list_columns)
    Prediction = schemas.prediction_model(signature.output_features, signature.outputs)
    explains = isinstance(signature.metadata.get("tk.explain"), dict)
    Explanation = (
        schemas.explanation_model(signature.output_features, signature.metadata["tk.explain"]["players"])
        if explains
        else None
    )
    Input = schemas.input_model(Row, settings.max_rows, base=_input_base())
    metadata_json = json.dumps(_metadata(signature, source, settings), separators=(",", ":")).encode()
    del signature

    async def metadata(_request) -> Response:
        return Response(metadata_json, media_type="application/json")

    extra = Starlette(routes=[Route("/metadata", metadata, methods=["GET"])])
    as_json = ContentType("application/json")  # a fixed media type: BentoML skips rebuilding the schema per response

    @bentoml.service(
        name="tk",
        workers=settings.workers,
        threads=1,  # one batch at a time per worker; onnxruntime has threads of its own
        traffic={"timeout": 60},
        metrics={"enabled": settings.metrics},
        http={"host": "127.0.0.1", "port": 3000},
        logging={"access": {"enabled": False}},
        **({} if settings.tracing else {"tracing": {"excluded_urls": ["/predict", "/ping"]}}),
    )
    @bentoml.asgi_app(extra, path="/")
    class TkService:
        if source.ref is not None:
            model = source.ref  # class scope: `bentoml build` packages the model

        def __init__(self) -> None:
            self.predictor = Predictor(
                source.onnx, threads=settings.onnx_threads, device=settings.device, chunk_rows=settings.chunk_rows
            )
            self.predictor.run([{}])  # warm the session (first run allocates)
            self.batcher = Batcher(
                self._predict,
                settings.max_batch_size,
                settings.max_latency_ms,
                piece_rows=min(PIECE_ROWS, settings.max_batch_size),
                piece_ms=PIECE_MS,
                after_large=self.predictor.release_memory,
            )
            self.explainer = (
                Batcher(
                    self._explain, settings.max_batch_size, settings.max_latency_ms, piece_rows=1, piece_ms=PIECE_MS
                )
                if explains
                else None
            )
            gc.collect()
            gc.freeze()  # start-up objects leave the GC's view: shorter, rarer pauses

        def _predict(self, rows: list) -> list[dict]:
            # the request schema checked every list row already (serving.schemas): not read twice
            return self.predictor.predict(schemas.columns_of(rows, Row), lists_checked=True)

        def _explain(self, rows: list) -> list[dict]:
            return self.predictor.explain(schemas.columns_of(rows, Row), lists_checked=True)

        @staticmethod
        def _answer(predictions: list[dict]) -> Response:
            """The predictions as JSON, written once: the records already have the documented shape,
            and re-validating 10,000 of them into Prediction models held the event loop ~160 ms."""
            return Response(pydantic_core.to_json(predictions), media_type="application/json")

        if settings.batching == "bentoml":

            @bentoml.api(
                batchable=True,
                max_batch_size=settings.max_batch_size,
                max_latency_ms=settings.max_latency_ms,
                input_spec=Input,
            )
            def predict(self, rows: list[Row]) -> Annotated[list[Prediction], as_json]:
                """Predict rows; concurrent requests are batched together (BentoML's dispatcher)."""
                return self._predict(rows)

        else:

            @bentoml.api(input_spec=Input)
            async def predict(self, rows: list[Row]) -> Annotated[list[Prediction], as_json]:
                """Predict rows; concurrent requests are batched together."""
                try:
                    return self._answer(await self.batcher(rows))
                except Overloaded as e:
                    return JSONResponse(
                        {"error": f"server overloaded: {e} (TK_MAX_LATENCY_MS={settings.max_latency_ms})"},
                        status_code=503,
                        headers={"Retry-After": "1"},
                    )

        if explains:

            @bentoml.api(input_spec=Input)
            async def explain(self, rows: list[Row]) -> Annotated[list[Explanation], as_json]:
                """Why: per row and output, each input's share of the score (log-odds, value, top-class logit)
                over the baseline score in /metadata; they add up to the difference."""
                try:
                    return self._answer(await self.explainer(rows))
                except Overloaded as e:
                    return JSONResponse(
                        {"error": f"server overloaded: {e} (TK_MAX_LATENCY_MS={settings.max_latency_ms})"},
                        status_code=503,
                        headers={"Retry-After": "1"},
                    )

        else:

            @bentoml.api(input_spec=Input)
            async def explain(self, rows: list[Row]) -> Annotated[dict, as_json]:
                """Why: this model.onnx has no explanations (an older tk); the answer says how to add them."""
                return JSONResponse(
                    {
                        "error": "this model.onnx has no explanations (written by an older tk); add "
                        "them without retraining: tk export MODEL_DIR --rebuild"
                    },
                    status_code=501,
                )

        @bentoml.api(input_spec=Input)
        def predict_bulk(self, rows: list[Row]) -> Annotated[list[Prediction], as_json]:
            """Predict many rows in one call, without adaptive batching."""
            return self._answer(self._predict(rows))

        @bentoml.api
        async def ping(self) -> Annotated[dict, as_json]:
            """A trivial endpoint: the framework's own ceiling."""
            return {"ok": True}

    reader = RowsReader(Input, Row, settings.max_rows, settings.max_errors)
    TkService.add_asgi_middleware(
        Guard, settings=settings, readers={"/predict": reader, "/predict_bulk": reader, "/explain": reader}
    )
    TkService.add_asgi_middleware(ServiceDocs)
    return TkService


def _input_base():
    """BentoML's input model, reading the value serving.guard validated instead of the body."""
    from serving.bentoml_private import validated_input
    from serving.guard import SCOPE_KEY

    return validated_input(SCOPE_KEY)


def _metadata(p, source, settings: Settings) -> dict:
    import bentoml
    import onnxruntime

    from serving import schemas

    meta = p.metadata
    return {
        "model": source.name,
        "inputs": {c: "number" if t == schemas.FLOAT else "string" for c, t in p.inputs.items()},
        "outputs": p.outputs,
        "features": meta.get("tk.features", {}),
        "classes": p.classes,
        "metrics": meta.get("tk.metrics", {}),
        "explain": {k: v for k, v in meta["tk.explain"].items() if k != "switch"} if "tk.explain" in meta else None,
        "versions": {
            "tk": meta.get("tk.version"),
            "trained_with": source.manifest.get("versions", {}),
            "onnxruntime": onnxruntime.__version__,
            "bentoml": bentoml.__version__,
        },
        "serving": settings.public(),
    }


def _quiet_bentoml() -> None:
    """No usage reports home, and a client's 4xx is one INFO line, not an ERROR with a traceback."""
    import logging

    from serving.bentoml_private import HTTP_APP_LOGGER, forget_tracking_answer

    forget_tracking_answer()  # the CLI may have cached "track" before BENTOML_DO_NOT_TRACK was set

    class QuietClientErrors(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None and type(exc).__name__ == "ValidationError":
                record.exc_info, record.exc_text = None, None
                record.msg, record.args = "400 on %s: %d validation error(s)", (record.args[0], exc.error_count())
                record.levelno, record.levelname = logging.INFO, "INFO"
            return True

    logging.getLogger(HTTP_APP_LOGGER).addFilter(QuietClientErrors())
