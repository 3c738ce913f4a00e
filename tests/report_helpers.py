"""Helpers of the `tk report` tests (tests/test_report*.py), no fixtures: a PNG's size from its header
and a full decode, the page's machine-readable metrics, `tk evaluate --json` through the CLI."""

from __future__ import annotations

import json
import re
import struct

from typer.testing import CliRunner

from toolkit.cli.main import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails unless the file starts like a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name}: not a PNG"
    assert head[12:16] == b"IHDR", f"{path.name}: no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def check_png(path) -> None:
    assert path.exists(), f"{path} was not written"
    width, height = png_size(path)
    assert width > 300 and height > 300, (path.name, width, height)
    assert path.stat().st_size > 10_000, (path.name, path.stat().st_size)
    import matplotlib.image

    pixels = matplotlib.image.imread(path)  # decodes fully: a truncated file fails here
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05, f"{path.name}: an empty image"


def page_metrics(html: str) -> dict:
    """The machine-readable block of report.html: {"dataset", "models": {label: {"path", "metrics"}}}."""
    found = re.search(r'<script type="application/json" id="tk-metrics">(.*?)</script>', html, re.S)
    assert found, "no tk-metrics block in the page"
    return json.loads(found.group(1).replace("<\\/", "</"))


def evaluate_json(model_dir, data) -> dict:
    result = runner.invoke(app, ["evaluate", str(model_dir), "--dataset", str(data), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def shown_values(html: str) -> set[str]:
    return set(re.findall(r'data-value="([^"]+)">', html))
