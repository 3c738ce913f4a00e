"""Helpers of the tests of `tk export --web` (tests/test_web*.py), no fixtures: export a site with
the CLI, serve it on 127.0.0.1, drive it with tests/web/drive.js in headless chromium, and compare
what the page shows or downloads with Python onnxruntime's (Predictor)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import ROOT

DRIVER = ROOT / "tests" / "web" / "drive.js"
TOLERANCE = 1e-5


def export_site(model_dir: Path, site: Path, *args) -> Path:
    """`tk export MODEL --web SITE [args]` through the real CLI (a subprocess: one plain line on error)."""
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", "export", str(model_dir), "--web", str(site), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return site


class StaticServer:
    """`python -m http.server` on 127.0.0.1, a free port; stopped by its PID."""

    def __init__(self, folder: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        match = re.search(r"port (\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"http.server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{match.group(1)}/"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def drive(browser: dict, site: Path, tmp: Path, **plan) -> dict:
    """Serve `site`, run tests/web/drive.js with `plan`, stop the server; → its JSON."""
    server = StaticServer(site)
    try:
        path = tmp / "plan.json"
        path.write_text(json.dumps({"url": server.url, "chromium": browser["chromium"], **plan}), encoding="utf-8")
        proc = subprocess.run(
            [browser["node"], str(DRIVER), str(path)], capture_output=True, text=True, encoding="utf-8", timeout=300
        )
    finally:
        server.stop()
    assert proc.returncode == 0, f"drive.js failed:\n{proc.stderr[-3000:]}"
    out = json.loads(proc.stdout)
    assert out["errors"] == [], f"browser console errors: {out['errors']}"
    assert out["external"] == [], f"the page fetched from other hosts: {out['external']}"
    return out


def screenshots(tmp: Path, name: str, readme: bool = True) -> list[dict]:
    """Desktop (1280 px) and phone (390 px) screenshots: into $TK_WEB_SCREENSHOTS for the README ones."""
    folder = Path(os.environ.get("TK_WEB_SCREENSHOTS") if readme and os.environ.get("TK_WEB_SCREENSHOTS") else tmp)
    if not folder.is_absolute():
        folder = ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return [
        {"width": 1280, "height": 900, "path": str(folder / f"web-{name}-desktop.png")},
        {"width": 390, "height": 844, "path": str(folder / f"web-{name}-phone.png")},
    ]


def assert_matches_python(predictor, values: dict, shown: dict, where: str) -> None:
    """The page's label/probabilities for one row == Predictor's (labels equal, floats within 1e-5)."""
    want = predictor.run([values])
    for name, result in shown.items():
        if f"{name}::label" in want:
            assert result["label"] == str(want[f"{name}::label"][0]), f"{where}: {name} label"
        if f"{name}::probabilities" in want:
            expected = want[f"{name}::probabilities"][0].astype(np.float64)
            got = np.array(result["probabilities"], dtype=np.float64)
            assert got.shape == expected.shape, f"{where}: {name}: {got.shape} != {expected.shape}"
            assert np.max(np.abs(got - expected)) <= TOLERANCE, f"{where}: {name}: {got} != {expected}"
        if f"{name}::value" in want:
            assert abs(result["value"] - float(want[f"{name}::value"][0])) <= TOLERANCE, f"{where}: {name} value"
    assert sorted(shown) == sorted({k.split("::")[0] for k in want}), f"{where}: outputs shown {sorted(shown)}"
    if "tk.explain" in predictor.metadata:  # bars per input: the file's attributions, as Python computes them
        why = predictor.explain([values])[0]
        for name, result in shown.items():
            assert result["why"] == list(why[name]), f"{where}: {name}: inputs {result['why']}"
            got, expected = np.array(result["attributions"], np.float64), np.array(list(why[name].values()))
            assert np.max(np.abs(got - expected)) <= TOLERANCE, f"{where}: {name}: attributions {got} != {expected}"


FORMULA_START = re.compile(r"^[=+\-@\t\r]")
CSV_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.I)


def spreadsheet_cell(text: str) -> str:
    """A text cell as the page writes it: an apostrophe before a formula's first character (csv.js)."""
    return f"'{text}" if FORMULA_START.match(text) and not CSV_NUMBER.match(text) else text


def assert_csv_matches_python(predictor, uploaded: Path, download: str, where: str) -> None:
    """The downloaded CSV: the uploaded columns (formulas defused) + Predictor's columns (floats within 1e-5)."""
    import pandas as pd

    raw = pd.read_csv(uploaded, dtype=str, keep_default_na=False)
    sent = raw.map(spreadsheet_cell)
    got = pd.read_csv(io.StringIO(download), dtype=str, keep_default_na=False)
    want = predictor.predict(raw)
    assert list(got.columns) == list(sent.columns) + list(want.columns), f"{where}: columns {list(got.columns)}"
    assert len(got) == len(sent), f"{where}: {len(got)} rows, sent {len(sent)}"
    pd.testing.assert_frame_equal(got[list(sent.columns)], sent, obj=f"{where}: uploaded columns")
    for col in want.columns:
        if want[col].dtype.kind == "f":
            worst = np.max(np.abs(got[col].astype(np.float64).to_numpy() - want[col].to_numpy(np.float64)))
            assert worst <= TOLERANCE, f"{where}: {col}: max |Δ| {worst:.3e}"
        else:
            assert got[col].tolist() == [spreadsheet_cell(v) for v in want[col].astype(str)], f"{where}: {col}"


def assert_usable(out: dict) -> None:
    """Every control labelled, all reachable by Tab, no sideways scrolling at 390 px."""
    a11y = out["a11y"]
    assert a11y["unlabelled"] == [], f"controls without a <label for>: {a11y['unlabelled']}"
    unreached = [c for c in a11y["ids"] if c not in a11y["tabOrder"]]
    assert not unreached, f"Tab does not reach {unreached} (order: {a11y['tabOrder']})"
    for screen in out["screens"]:
        assert not screen["overflowX"], f"at {screen['width']} px the page is {screen['scrollWidth']} px wide"
