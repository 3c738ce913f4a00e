"""`tk --help`, `tk config render` and `tk init-config` never import torch (or pandas/sklearn).

Their speed is measured in `python -m bench.startup`; here we hold the cause: nothing
heavy is imported by commands that do not need it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import CHURN

HEAVY = ("torch", "pandas", "sklearn", "onnx", "onnxruntime", "numpy", "mlflow")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["config", "render", str(CHURN / "config.yaml")],
        ["config", "schema"],
        ["init-config", str(CHURN / "churn.csv"), "--target", "churn"],
    ],
)
def test_light_commands_import_nothing_heavy(argv):
    _assert_light(argv)


def test_init_config_on_json_lines_with_lists_imports_nothing_heavy(tmp_path):
    """A JSON array of numbers becomes a vector without numpy (toolkit.data.number_lists.cell_text)."""
    import json

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"v": [i, i + 0.5, -2], "y": i % 2}) + "\n" for i in range(40)))
    stdout = _assert_light(["init-config", str(path), "--target", "y"])
    assert "{name: v, type: vector, preprocessing: {size: 3}}" in stdout


def _assert_light(argv) -> str:
    script = textwrap.dedent(f"""
        import sys
        from toolkit.cli.main import app
        try:
            app({argv!r}, standalone_mode=False)
        except SystemExit:
            pass
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print("HEAVY", heavy, file=sys.stderr)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]
    assert result.stdout.strip(), "the command printed its result"
    return result.stdout


def test_config_render_fills_every_default():
    import yaml
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    result = CliRunner().invoke(app, ["config", "render", str(CHURN / "config.yaml")])
    assert result.exit_code == 0
    rendered = yaml.safe_load(result.stdout)
    assert rendered["trainer"]["seed"] == 42
    assert rendered["input_features"][0]["preprocessing"] == {"true_label": None}
    assert rendered["combiner"]["hidden_size"] == 16  # the example's own value survives


def test_config_schema_is_json_schema_with_feature_types():
    import json

    from typer.testing import CliRunner

    from toolkit.cli.main import app

    result = CliRunner().invoke(app, ["config", "schema"])
    schema = json.loads(result.stdout)
    assert schema["title"] == "tk config"
    text = json.dumps(schema)
    for t in ("number", "binary", "category"):
        assert f'"const": "{t}"' in text or f'"enum": ["{t}"]' in text
