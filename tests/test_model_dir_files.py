"""What tk reads from and writes into a model directory, and what it refuses.

- `tk train --output X` replaces X only when X's manifest parses as a tk model (issue 16, item 7).
- Reading a model directory (`tk predict`, `tk export --bento`, the Predictor) never follows a
  symlink, never blocks on a FIFO, checks sizes against the manifest before reading, and a
  malformed manifest is one line, not a traceback (item 8).
- `tk export DIR --onnx PATH` refuses a PATH inside a model directory (item 10).

One 1-epoch model is trained per module (tests/bad_input_helpers.py); each case works on a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bad_input_helpers import base_config, check_fails, rows, tk, train, write_config, write_csv
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    run = train(root, base_config(), write_csv(root / "data.csv", rows()))
    assert run.code == 0, run.stderr
    return root / "model"


@pytest.fixture
def model(trained, tmp_path) -> Path:
    """A private copy of the trained model directory."""
    return Path(shutil.copytree(trained, tmp_path / "model"))


@pytest.fixture
def data(tmp_path) -> Path:
    return write_csv(tmp_path / "data.csv", rows())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---- item 7: train --output replaces only a tk model --------------------------------------------


@pytest.mark.parametrize(
    "manifest",
    [
        '{"name": "my-web-app", "start_url": "/", "icons": []}',  # a web app manifest
        '{"format": "tk-model", "format_version": 1, "files": []}',  # a tk-looking manifest that is no model's
        "not json at all",
    ],
)
def test_train_does_not_replace_a_folder_with_a_foreign_manifest(tmp_path, data, manifest):
    app = tmp_path / "model"
    app.mkdir()
    (app / "manifest.json").write_text(manifest)
    (app / "index.html").write_text("<h1>my app</h1>")
    before = snapshot(app)
    cfg = write_config(tmp_path / "cfg.yaml", base_config())
    check_fails(
        "train",
        cfg,
        "--dataset",
        data,
        "--output",
        app,
        "--quiet",
        needles=[str(app), "not a tk model", "choose another path"],
    )
    assert snapshot(app) == before, "the folder was changed"
    assert not list(tmp_path.glob(".model.tk-*")), "a temporary folder was left behind"


def test_train_replaces_a_tk_model(tmp_path, model, data):
    old_stats = (model / "training_stats.json").read_bytes()
    (model / "training_stats.json").unlink()  # still a tk model by its manifest, though damaged
    cfg = write_config(tmp_path / "cfg.yaml", base_config())
    run = tk("train", cfg, "--dataset", data, "--output", model, "--quiet")
    assert run.code == 0, run.stderr
    assert (model / "training_stats.json").read_bytes() != old_stats
    run = tk("predict", model, "-d", data)
    assert run.code == 0, run.stderr


# ---- item 8: reading a model directory ----------------------------------------------------------


def test_symlinked_file_is_refused(model, data, tmp_path):
    """A link to a file with the very same bytes: only the link itself is wrong."""
    elsewhere = tmp_path / "elsewhere.json"
    shutil.move(model / "features.json", elsewhere)
    os.symlink(elsewhere, model / "features.json")
    check_fails("predict", model, "-d", data, needles=["features.json", "symbolic link"])


def test_symlink_to_dev_zero_is_refused_without_reading(model, data):
    """Run apart, with 6 GiB of address space and a minute: reading the link would never end."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

    (model / "model.safetensors").unlink()
    os.symlink("/dev/zero", model / "model.safetensors")
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "predict", str(model), "-d", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=cap,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "model.safetensors" in proc.stderr and "symbolic link" in proc.stderr


def test_fifo_is_refused_not_waited_on(model, data):
    """A FIFO as features.json hung `tk predict`: it must end at once with one error line."""
    (model / "features.json").unlink()
    os.mkfifo(model / "features.json")
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "predict", str(model), "-d", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert "features.json" in proc.stderr and "FIFO" in proc.stderr and "Traceback" not in proc.stderr


def test_size_is_checked_before_reading(model, data):
    with open(model / "config.yaml", "ab") as fh:
        fh.write(b"# one more line\n")
    check_fails("predict", model, "-d", data, needles=["config.yaml", "bytes", "manifest.json says"])


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda m: m | {"files": []}, "'files' must be an object"),
        (lambda m: m | {"files": {"config.yaml": "abc"}}, "files['config.yaml'] must be an object"),
        (lambda m: {**m, "files": {**m["files"], "features.json": {"sha256": 7, "bytes": 1}}}, "sha256"),
        (
            lambda m: {**m, "files": {**m["files"], "features.json": {**m["files"]["features.json"], "bytes": "1"}}},
            "bytes",
        ),
        (lambda m: m | {"format_version": "one"}, "format_version"),
        (lambda m: [m], "a JSON object"),
        (lambda m: {k: v for k, v in m.items() if k != "files"}, "'files' must be an object"),
    ],
)
def test_malformed_manifest_is_one_line(model, data, edit, needle):
    manifest = json.loads((model / "manifest.json").read_text())
    (model / "manifest.json").write_text(json.dumps(edit(manifest)))
    for command in ("predict", "evaluate"):
        check_fails(command, model, "-d", data, needles=["manifest.json", needle])


def test_manifest_that_is_a_directory(model, data):
    (model / "manifest.json").unlink()
    (model / "manifest.json").mkdir()
    check_fails("predict", model, "-d", data, needles=["manifest.json", "a directory, not a regular file"])


def test_a_linked_model_directory_still_loads(model, data, tmp_path):
    """The folder itself may be a link (runs/current -> runs/v3); only the files in it may not."""
    current = tmp_path / "current"
    os.symlink(model, current)
    run = tk("predict", current, "-d", data)
    assert run.code == 0, run.stderr


@pytest.fixture
def bento_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "bentoml"
    monkeypatch.setenv("BENTOML_HOME", str(home))
    return home


def test_bento_refuses_a_symlinked_file(model, tmp_path, bento_home):
    secret = tmp_path / "secret.txt"
    secret.write_text("api_key = hunter2\n")
    (model / "training_stats.json").unlink()
    os.symlink(secret, model / "training_stats.json")
    check_fails("export", model, "--bento", "tk-test", needles=["training_stats.json", "symbolic link"])
    stored = [p for p in bento_home.rglob("*") if p.is_file()]
    assert not any(b"hunter2" in p.read_bytes() for p in stored), "the linked file reached the BentoML store"


def test_bento_refuses_a_changed_file(model, bento_home):
    stats = json.loads((model / "training_stats.json").read_text())
    stats["note"] = "edited"
    (model / "training_stats.json").write_text(json.dumps(stats))
    check_fails("export", model, "--bento", "tk-test", needles=["training_stats.json"], patterns=[r"sha256|bytes"])


def test_bento_refuses_a_malformed_manifest(model, bento_home):
    manifest = json.loads((model / "manifest.json").read_text())
    (model / "manifest.json").write_text(json.dumps(manifest | {"files": []}))
    check_fails("export", model, "--bento", "tk-test", needles=["manifest.json", "'files' must be an object"])


def test_bento_stores_the_verified_files(model, bento_home):
    run = tk("export", model, "--bento", "tk-test")
    assert run.code == 0, run.stderr
    stored = [p for p in bento_home.rglob("model.onnx")]
    assert len(stored) == 1, stored
    for name in ("model.onnx", "manifest.json", "config.yaml", "training_stats.json", "features.json"):
        assert (stored[0].parent / name).read_bytes() == (model / name).read_bytes(), name


# ---- item 10: export --onnx never writes inside a model directory -------------------------------


@pytest.mark.parametrize("where", ["model.onnx", "quantized.onnx", "sub/model.onnx"])
def test_export_onnx_inside_a_model_directory_is_refused(model, where):
    before = snapshot(model)
    target = model / where
    target.parent.mkdir(exist_ok=True)
    check_fails(
        "export", model, "--onnx", target, "--quantize", "int8", needles=[str(target), "inside the model directory"]
    )
    assert snapshot(model) == before
    assert not target.exists() or where == "model.onnx"


def test_export_onnx_elsewhere_works(model, tmp_path):
    target = tmp_path / "out" / "model.onnx"
    run = tk("export", model, "--onnx", target)
    assert run.code == 0, run.stderr
    assert target.stat().st_size > 1000
    run = tk("predict", model, "-d", write_csv(tmp_path / "d.csv", rows()))
    assert run.code == 0, run.stderr  # the model directory is untouched and still verifies
