"""Serving's parts tested without a running server: request schemas (field paths, aliases, unknown
fields), the `tk serve` command line and its warning off loopback, settings from the environment,
`tk export --bento` + `bentoml build`, the batcher (batches, a failing batch isolated, overload, a
large request in pieces sized to the time per row) and the Predictor's onnxruntime chunks.
The tests against live servers are in tests/test_serving.py and tests/test_serving_limits.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from serving import schemas
from tests.conftest import ROOT
from tests.test_serving_limits import TOKEN, model_dir, rows  # noqa: F401 (fixtures)
from toolkit.runtime.predictor import Predictor

# ---- schemas, the serve command, a bento ------------------------------------------------


def test_schemas_paths_aliases_and_unknown_fields():
    assert schemas.field_path(("rows", 3, "tenure")) == "rows[3].tenure"
    assert schemas.field_path(()) == "(body)"
    Row = schemas.row_model({"a b": schemas.FLOAT, "copy": schemas.STRING, "x": schemas.STRING})
    row = Row.model_validate({"a b": 1, "copy": 2, "x": None})
    assert schemas.columns_of([row], Row) == {"a b": [1.0], "copy": [2], "x": [None]}
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as e:
        Row.model_validate({"a b": 1, "copy": [1], "x": None, "y": 1})
    details = schemas.format_errors(e.value.errors())
    assert [(d["loc"], d["type"]) for d in details] == [("copy", "string_type"), ("y", "extra_forbidden")]
    Lax = schemas.row_model({"x": schemas.STRING}, unknown_fields="ignore")
    assert Lax.model_validate({"x": "a", "y": 1}).model_dump() == {"x": "a"}
    with pytest.raises(ValueError, match="unknown_fields"):
        schemas.row_model({"x": schemas.STRING}, unknown_fields="allow")


def test_serve_command(model_dir):
    from toolkit.cli.serve import serve_command
    from toolkit.errors import TkError

    cmd, env = serve_command(model_dir, 3123, workers=2, threads=1)
    assert cmd[-5:] == ["serving.service:TkService", "--host", "127.0.0.1", "--port", "3123"]
    assert cmd[1:4] == ["-m", "bentoml", "serve"] and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert env["TK_MODEL"] == str(model_dir.resolve()) and env["TK_WORKERS"] == "2" and env["TK_THREADS"] == "1"
    assert env["BENTOML_DO_NOT_TRACK"] in ("true", os.environ.get("BENTOML_DO_NOT_TRACK"))
    with pytest.raises(TkError, match="no model.onnx"):
        serve_command(model_dir / "nope", 3000)


def test_export_bento_then_bentoml_build_offline(model_dir, tmp_path):
    """`tk export --bento` stores the model; `bentoml build` packages service + model reference."""
    home = tmp_path / "home"  # outside the build context (the repository)
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true", "TK_BENTO_MODEL": "churn-test"}
    env.pop("TK_MODEL", None)
    code = "from toolkit.cli.serve import export_bento; import sys; print(export_bento(sys.argv[1], 'churn-test'))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    tag = out.stdout.strip().splitlines()[-1]
    stored = home / "models" / "churn-test" / tag.split(":")[1]
    assert (stored / "model.onnx").read_bytes() == (model_dir / "model.onnx").read_bytes()
    build = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    bento = next((home / "bentos" / "tk").glob("*/bento.yaml")).read_text()
    assert tag in bento and "BENTOML_DO_NOT_TRACK" in bento


# ---- the batcher and the Predictor's chunks ---------------------------------------------


def test_batcher_batches_under_load_and_isolates_failures():
    import asyncio
    import threading
    import time

    from serving.batcher import Batcher, Overloaded

    gate = threading.Event()
    seen = []

    def fn(batch):
        gate.wait(5)
        seen.append(len(batch))
        if "boom" in batch:
            raise RuntimeError("boom")
        return [x * 2 for x in batch]

    async def scenario():
        b = Batcher(fn, max_batch_size=4, max_latency_ms=10_000)
        first = asyncio.ensure_future(b([1]))  # runs alone, holding the gate
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(b([i, i])) for i in range(3)]  # 6 rows queue: batches of 4 then 2
        bad = asyncio.ensure_future(b(["boom"] * 3))  # 2 + 3 rows > 4: a batch of its own
        await asyncio.sleep(0.05)
        gate.set()
        out = await asyncio.gather(first, *rest, return_exceptions=True)
        bad_out = await asyncio.gather(bad, return_exceptions=True)
        assert await b([]) == []
        return out, bad_out

    out, bad_out = asyncio.run(scenario())
    assert out == [[2], [0, 0], [2, 2], [4, 4]]
    assert seen == [1, 4, 2, 3] and isinstance(bad_out[0], RuntimeError)

    async def overloaded():
        b = Batcher(lambda batch: time.sleep(0.2) or batch, max_batch_size=1, max_latency_ms=50)
        return await asyncio.gather(b([1]), b([2]), return_exceptions=True)

    first, second = asyncio.run(overloaded())
    assert first == [1] and isinstance(second, Overloaded)


def test_predictor_chunks_equal_one_run_and_memory_can_be_released(model_dir, rows):
    whole = Predictor(model_dir, chunk_rows=10_000).run(rows)
    p = Predictor(model_dir, chunk_rows=7)
    chunked = p.run(rows)
    assert list(chunked["churn::label"]) == list(whole["churn::label"])
    assert chunked["churn::probabilities"] == pytest.approx(whole["churn::probabilities"], abs=1e-7)
    p.release_memory()  # a one-row run with the arena-shrink option: still answers after it
    assert p.predict(rows[:3]) == Predictor(model_dir).predict(rows[:3])
    with pytest.raises(ValueError, match="chunk_rows"):
        Predictor(model_dir, chunk_rows=0)


def test_a_large_request_does_not_hold_back_small_ones():
    """The batcher splits a big request; a small one that arrives meanwhile runs between its pieces."""
    import asyncio
    import threading

    from serving.batcher import Batcher

    started, go = threading.Event(), threading.Event()
    order, released = [], []

    def fn(batch):
        started.set()
        go.wait(5)  # the first piece runs until the small request has queued
        order.append(tuple(batch[:1]) + (len(batch),))
        return list(batch)

    async def scenario():
        b = Batcher(
            fn,
            max_batch_size=4,
            max_latency_ms=10_000,
            piece_ms=60_000,  # pieces stay at 4 rows
            after_large=lambda: released.append(len(order)),
        )
        big = asyncio.ensure_future(b(list(range(100, 112))))  # 12 rows: 3 pieces of 4
        while not started.is_set():
            await asyncio.sleep(0.001)
        small = asyncio.ensure_future(b(["small"]))
        await asyncio.sleep(0.01)
        go.set()
        return await big, await small

    big, small = asyncio.run(scenario())
    assert big == list(range(100, 112)) and small == ["small"]
    assert order == [(100, 4), ("small", 1), (104, 4), (108, 4)]  # between the pieces, not after them
    assert released == [len(order)]  # after its last piece


def test_pieces_of_a_slow_model_are_sized_to_the_time_per_row():
    """Each piece after the first takes about piece_ms: at ≥ 2 ms per row, pieces of 10 ms hold ≤ 5 rows."""
    import asyncio
    import time

    from serving.batcher import Batcher

    sizes = []

    def fn(batch):
        sizes.append(len(batch))
        time.sleep(0.002 * len(batch))
        return list(batch)

    async def scenario():
        return await Batcher(fn, max_batch_size=64, max_latency_ms=10_000, piece_rows=16, piece_ms=10)(list(range(200)))

    assert asyncio.run(scenario()) == list(range(200))
    assert sizes[0] == 16 and sum(sizes) == 200 and all(1 <= n <= 5 for n in sizes[1:]), sizes


# ---- settings and the warning off loopback ----------------------------------------------


def test_tk_serve_warns_when_not_on_loopback():
    from toolkit.cli.serve import exposure_warning, is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))
    assert exposure_warning("127.0.0.1", {}) is None
    assert "NO authentication" in exposure_warning("0.0.0.0", {})
    assert "TLS" in exposure_warning("0.0.0.0", {"TK_API_TOKEN": TOKEN})


def test_settings_hide_the_token_and_name_bad_values():
    from serving.settings import Settings, SettingsError

    s = Settings.from_env({"TK_API_TOKEN": TOKEN, "TK_ALLOWED_HOSTS": "A.example, b:1", "TK_MAX_ROWS": "7"})
    assert TOKEN not in repr(s) and TOKEN not in json.dumps(s.public())
    assert s.allowed_hosts == ("a.example", "b:1") and s.max_rows == 7
    for env, words in (
        ({"TK_MAX_ROWS": "0"}, "TK_MAX_ROWS=0"),
        ({"TK_MAX_ROWS": "many"}, "TK_MAX_ROWS='many'"),
        ({"TK_API_TOKEN": "short"}, "TK_API_TOKEN"),
        ({"TK_BATCHING": "x"}, "TK_BATCHING='x'"),
    ):
        with pytest.raises(SettingsError, match=words):
            Settings.from_env(env)
    with pytest.raises(Exception):
        s.max_rows = 8  # frozen
