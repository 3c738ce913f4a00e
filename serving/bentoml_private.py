"""The BentoML names tk needs that BentoML does not document, in one module (issue 24).

The service is declared as BentoML documents it (`@bentoml.service`, `@bentoml.api(input_spec=…)`,
`@bentoml.asgi_app`, `bentoml.models`, `$BENTOML_HOME`, `BENTOML_DO_NOT_TRACK`). Three things have
no documented form, and live here only:

- `validated_input(scope_key)`: an input spec (a subclass of the public `bentoml.IODescriptor`) whose
  classmethod `from_http_request(request, serde)`, BentoML's undocumented hook that turns a request
  into the API's input, returns the value serving.guard already validated (in slices, with the event
  loop served between them: serving.request), so BentoML does not validate the body a second time.
- `forget_tracking_answer()`: BentoML caches whether to report usage (`do_not_track`, an lru_cache in
  `bentoml._internal.utils.analytics.usage_stats`) the first time it is asked; its CLI may ask before
  serving.service sets BENTOML_DO_NOT_TRACK, so the cached answer is dropped after setting it.
- `HTTP_APP_LOGGER`: the logger BentoML's HTTP app writes a client's validation error to (at ERROR,
  with a traceback); serving.service filters it down to one INFO line.

tests/test_bentoml_private.py fails when BentoML moves or changes any of them, and checks that no
other module of tk imports a private BentoML name.
"""

from __future__ import annotations

import importlib

HTTP_APP_LOGGER = "bentoml._internal.server.http_app"
USAGE_STATS = "bentoml._internal.utils.analytics.usage_stats"


def validated_input(scope_key: str):
    """A base class for the request model (`input_spec`): reads `request.scope[scope_key]` when it
    holds an instance of the model (set by serving.guard), else parses the request as BentoML does."""
    import bentoml

    class ValidatedInput(bentoml.IODescriptor):
        @classmethod
        async def from_http_request(cls, request, serde):
            value = request.scope.get(scope_key)
            if isinstance(value, cls):
                return value
            return await super().from_http_request(request, serde)  # pragma: no cover - the guard always runs

    return ValidatedInput


def forget_tracking_answer() -> None:
    """Drop BentoML's cached answer to "report usage?", so BENTOML_DO_NOT_TRACK set now is read."""
    try:
        importlib.import_module(USAGE_STATS).do_not_track.cache_clear()
    except (ImportError, AttributeError):  # pragma: no cover - moved: the test says so; losing it loses a nicety
        pass
