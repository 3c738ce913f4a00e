"""Serving a tk model with BentoML.

- `serving.schemas`: request/response models built from a model's inputs.
- `serving.service`: the BentoML service (`bentoml serve serving.service:TkService`);
  importing it loads a model (TK_MODEL or the BentoML model store), so nothing
  here imports it.
- `serving.guard`: the ASGI middleware for body limits and readable 400s.
"""
