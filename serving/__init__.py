"""Serving a tk model with BentoML.

- `serving.settings`: the frozen `Settings` read from the `TK_*` variables.
- `serving.model_source`: which model, found and verified (manifest sha256).
- `serving.service`: the BentoML service (`bentoml serve serving.service:TkService`);
  importing it reads the settings only; `build_service(settings)` builds it.
- `serving.schemas`: request/response models built from a model's inputs.
- `serving.request`: a /predict body → validated rows, bounded (rows, errors).
- `serving.guard`: the ASGI middleware on every route: Host allow-list, bearer
  token, one Content-Type, JSON only, body limit, readable 4xx.
- `serving.batcher`: greedy micro-batching; large requests run in pieces.
- `serving.docs`: the plain index page at `/` and /metadata in /docs.json.
- `serving.process`: start and stop a server in a subprocess (tests, bench).
"""
