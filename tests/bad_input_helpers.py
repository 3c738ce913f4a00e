"""Shared helpers for the bad-input tests (test_bad_config, test_bad_data, test_bad_model_dir).

`tk(*args)` runs the real CLI (`toolkit.cli.main:app` through typer's CliRunner, which
keeps stderr apart from stdout) and fails on any escaped exception or traceback;
`check_fails` expects exit 2 with `error:` lines holding given needles. `rows()`
is a ROWS-row table (age, income, color, label); `base_config()` trains it for
one epoch; `write_csv` / `write_config` write them to disk. Imported by
tests/test_predict_faults.py too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from typer.testing import CliRunner

from toolkit.cli.main import app

ROWS = 60
COLUMNS = ["age", "income", "color", "label"]
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    output: str

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(prefix)]

    @property
    def errors(self) -> str:
        return "\n".join(self.lines("error:"))

    @property
    def warnings(self) -> str:
        return "\n".join(self.lines("warning:"))


def clean(text: str) -> str:
    """No colour codes; rich's soft wraps undone (runs of whitespace → one space per line)."""
    return "\n".join(" ".join(line.split()) for line in ANSI.sub("", text).splitlines())


def tk(*args) -> Run:
    result = runner.invoke(app, [str(a) for a in args])
    run = Run(result.exit_code, clean(result.stdout), clean(result.stderr), clean(result.output))
    # An exception that escaped the command is a bug in tk, whatever the exit code.
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert escaped is None, f"uncaught {type(escaped).__name__}: {escaped}\nstderr:\n{run.stderr}"
    assert "Traceback" not in run.output, run.output
    return run


def check_fails(*args, needles=(), patterns=()) -> Run:
    """Run tk, expect exit 2 and error lines that hold every needle (and match every regex)."""
    run = tk(*args)
    assert run.code == 2, f"exit {run.code}, expected 2\nstderr:\n{run.stderr}\nstdout:\n{run.stdout[-2000:]}"
    assert run.errors, f"no `error:` line on stderr:\n{run.stderr}"
    for needle in needles:
        assert needle in run.errors, f"{needle!r} not in the error:\n{run.errors}"
    for pattern in patterns:
        assert re.search(pattern, run.errors), f"/{pattern}/ not in the error:\n{run.errors}"
    return run


def rows(n: int = ROWS) -> list[dict]:
    """A small table: two numbers, a category, a two-class target."""
    return [
        {
            "age": 20 + i % 40,
            "income": 1000 + 13 * i,
            "color": ("red", "green", "blue")[i % 3],
            "label": "yes" if i % 2 else "no",
        }
        for i in range(n)
    ]


def write_csv(path: Path, table: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(table[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(table)
    return path


def base_config() -> dict:
    return {
        "input_features": [
            {"name": "age", "type": "number"},
            {"name": "income", "type": "number"},
            {"name": "color", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "category"}],
        "trainer": {"epochs": 1},
    }


def write_config(path: Path, cfg: dict | str) -> Path:
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def train(tmp_path: Path, cfg: dict | str, data_file: Path) -> Run:
    cfg_file = write_config(tmp_path / "cfg.yaml", cfg)
    return tk("train", cfg_file, "--dataset", data_file, "--output", tmp_path / "model", "--quiet")
