"""What the service checks besides requests (issue 16 item 9, issue 15 item 5): a changed model.onnx is
refused by the Predictor, `tk serve`, the service and a stored model's recorded sha256; importing the
service does no work; a large body validated in slices answers as one call does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.test_serving_limits import MAX_ERRORS, ROOT, model_dir, rows  # noqa: F401 (fixtures)
from toolkit.runtime.predictor import Predictor

# ---- item 9: the manifest is verified before model.onnx is loaded -------------------------


@pytest.fixture()
def tampered(model_dir, tmp_path):
    copy = tmp_path / "churn"
    shutil.copytree(model_dir, copy)
    onnx = bytearray((copy / "model.onnx").read_bytes())
    onnx[-1] ^= 1  # a changed byte onnxruntime itself still loads
    (copy / "model.onnx").write_bytes(bytes(onnx))
    return copy


def test_predictor_and_tk_serve_refuse_a_changed_model_onnx(tampered):
    from toolkit.cli.serve import serve_command
    from toolkit.errors import TkError

    Predictor(tampered / "model.onnx")  # a bare .onnx file is loaded as it is
    with pytest.raises(TkError, match="model.onnx: sha256 does not match manifest.json"):
        Predictor(tampered)
    with pytest.raises(TkError, match="model.onnx: sha256 does not match manifest.json"):
        serve_command(tampered, 3000)
    (tampered / "manifest.json").unlink()
    with pytest.raises(TkError, match="no manifest.json"):
        Predictor(tampered)


def test_the_service_refuses_a_changed_model_onnx(tampered):
    from serving.model_source import ModelSourceError
    from serving.service import build_service
    from serving.settings import Settings

    with pytest.raises(ModelSourceError, match="sha256 does not match"):
        build_service(Settings(model=str(tampered)))


# ---- issue 15 item 5: importing the service does no work ----------------------------------


def test_importing_the_service_loads_no_model_and_no_framework(tmp_path):
    code = (
        "import sys, serving.service as s; "
        "print(type(s.SETTINGS).__name__, s.SETTINGS.model, s.SETTINGS.max_rows, "
        "sorted(m for m in ('bentoml', 'onnxruntime', 'torch') if m in sys.modules))"
    )
    env = {"PATH": "/usr/bin:/bin", "TK_MODEL": str(tmp_path / "no-such-model"), "TK_MAX_ROWS": "12"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Settings", str(tmp_path / "no-such-model"), "12", "[]"]


def test_a_large_body_validated_in_slices_gets_the_same_answer_as_one_call(model_dir, rows):
    """serving.request: bodies over SLICE_BYTES are validated slice by slice; same rows, same errors."""
    import asyncio

    from serving import schemas
    from serving.request import SLICE_BYTES, ClientError, RowsReader

    Row = schemas.row_model(dict(Predictor(model_dir).inputs))
    reader = RowsReader(schemas.input_model(Row, 5000), Row, max_rows=5000, max_errors=MAX_ERRORS)
    batch = (rows * 80)[:4000]
    body = json.dumps({"rows": batch}).encode()
    assert len(body) > SLICE_BYTES
    sliced, whole = asyncio.run(reader.read_async(body)), reader.read(body)
    assert [r.model_dump() for r in sliced.rows] == [r.model_dump() for r in whole.rows]
    for edit in ({"tenure": "three"}, {"tenure": float("nan")}, {"contract": {"a": 1}}, {"tenurre": 1}):
        bad = [dict(r) for r in batch]
        bad[3001].update(edit)
        for i in range(3100, 3100 + MAX_ERRORS + 5):
            bad[i] = {}
        bad_body = json.dumps({"rows": bad}).encode().replace(b"NaN", b"1e999")
        with pytest.raises(ClientError) as a:
            asyncio.run(reader.read_async(bad_body))
        with pytest.raises(ClientError) as b:
            reader.read(bad_body)
        assert (a.value.status, a.value.body()) == (b.value.status, b.value.body()) and a.value.status == 400
        assert a.value.detail[0]["loc"].startswith("rows[3001].") and a.value.more > 0
    too_many = json.dumps({"rows": (rows * 100)[:5001]}).encode()
    with pytest.raises(ClientError) as e:
        asyncio.run(reader.read_async(too_many))
    assert e.value.status == 413 and "TK_MAX_ROWS" in e.value.message


def test_a_stored_model_is_checked_against_its_recorded_sha256(model_dir, tmp_path):
    """TK_BENTO_MODEL: the model store's copy must match the sha256 `tk export --bento` recorded."""
    code = """
import sys
from pathlib import Path
from serving.model_source import ModelSourceError, locate
from serving.settings import Settings
from toolkit.cli.serve import export_bento
tag = export_bento(sys.argv[1], "churn-sha")
source = locate(Settings(bento_model="churn-sha"))
assert source.onnx == (Path(sys.argv[1]) / "model.onnx").read_bytes() and source.name == tag, source.name
import bentoml
stored = Path(bentoml.models.get(tag).path) / "model.onnx"
stored.write_bytes(stored.read_bytes()[:-1] + bytes([stored.read_bytes()[-1] ^ 1]))
try:
    locate(Settings(bento_model="churn-sha"))
except ModelSourceError as e:
    print("refused:", e)
"""
    env = {"PATH": "/usr/bin:/bin", "BENTOML_HOME": str(tmp_path / "home"), "BENTOML_DO_NOT_TRACK": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused: stored model churn-sha:" in out.stdout and "does not match the sha256" in out.stdout
