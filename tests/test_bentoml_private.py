"""The BentoML names BentoML does not document are held by serving/bentoml_private.py only (issue 24):
these tests fail when BentoML moves or changes one, and when another tk module imports a private name."""

from __future__ import annotations

import importlib
import inspect
import logging
import re

from tests.conftest import ROOT


def test_the_input_hook_is_where_the_service_expects_it():
    import bentoml

    from serving.bentoml_private import validated_input

    hook = inspect.getattr_static(bentoml.IODescriptor, "from_http_request")
    assert isinstance(hook, classmethod), "IODescriptor.from_http_request is no longer a classmethod"
    assert list(inspect.signature(bentoml.IODescriptor.from_http_request).parameters) == ["request", "serde"]
    dispatch = inspect.getsource(importlib.import_module("_bentoml_impl.server.app"))
    assert ".input_spec.from_http_request(request, serde)" in dispatch, (
        "BentoML's HTTP app no longer reads an API's input through input_spec.from_http_request"
    )
    base = validated_input("tk.key")
    assert issubclass(base, bentoml.IODescriptor) and "from_http_request" in vars(base)


def test_the_tracking_cache_and_the_http_logger_are_where_the_service_expects_them(monkeypatch):
    from serving.bentoml_private import HTTP_APP_LOGGER, USAGE_STATS

    do_not_track = importlib.import_module(USAGE_STATS).do_not_track
    assert callable(do_not_track.cache_clear)
    monkeypatch.setenv("BENTOML_DO_NOT_TRACK", "true")
    do_not_track.cache_clear()
    assert do_not_track() is True
    http_app = importlib.import_module(HTTP_APP_LOGGER)
    assert isinstance(http_app.logger, logging.Logger) and http_app.logger.name == HTTP_APP_LOGGER


def test_no_other_module_imports_a_private_bentoml_name():
    private = re.compile(r"^\s*(from|import)\s+(bentoml\._internal|_bentoml_sdk|_bentoml_impl)", re.M)
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("serving", "toolkit", "exporters")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "bentoml_private.py" and private.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
