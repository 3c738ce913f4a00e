"""Bad input never shows a traceback: exit code 2 and one `error:` line naming what and where.

Every case runs the real CLI (`toolkit.cli:app` through typer's CliRunner, which
keeps stderr apart from stdout) on tiny files in tmp_path. Cases that reach
training use `trainer: {epochs: 1}`. Some bad data is not an error: rows with a
missing target are dropped and unparseable numbers become missing; those train
(exit 0) and a warning gives the count.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from toolkit.cli import app

ROWS = 60
COLUMNS = ["age", "income", "color", "label"]
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ---- helpers --------------------------------------------------------------

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


def _clean(text: str) -> str:
    """No colour codes; rich's soft wraps undone (runs of whitespace → one space per line)."""
    return "\n".join(" ".join(line.split()) for line in ANSI.sub("", text).splitlines())


def tk(*args) -> Run:
    result = runner.invoke(app, [str(a) for a in args])
    run = Run(result.exit_code, _clean(result.stdout), _clean(result.stderr), _clean(result.output))
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
    return [{"age": 20 + i % 40, "income": 1000 + 13 * i, "color": ("red", "green", "blue")[i % 3],
             "label": "yes" if i % 2 else "no"} for i in range(n)]


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


@pytest.fixture
def data(tmp_path) -> Path:
    return write_csv(tmp_path / "data.csv", rows())


@pytest.fixture
def cfg_path(tmp_path) -> Path:
    return write_config(tmp_path / "cfg.yaml", base_config())


def train(tmp_path: Path, cfg: dict | str, data_file: Path) -> Run:
    cfg_file = write_config(tmp_path / "cfg.yaml", cfg)
    return tk("train", cfg_file, "--dataset", data_file, "--output", tmp_path / "model", "--quiet")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One model directory trained for one epoch, shared by the predict/evaluate cases."""
    root = tmp_path_factory.mktemp("trained")
    data_file = write_csv(root / "data.csv", rows())
    run = train(root, base_config(), data_file)
    assert run.code == 0, run.stderr
    assert (root / "model" / "manifest.json").exists()
    return root / "model"


# ---- config ---------------------------------------------------------------

def test_config_not_yaml(tmp_path, data):
    cfg = write_config(tmp_path / "cfg.yaml", "input_features: [\n  {name: age, type: number\noutput_features: x\n")
    check_fails("train", cfg, "-d", data, needles=["cfg.yaml", "not valid YAML"], patterns=[r"line \d+"])


def test_config_not_a_mapping(tmp_path, data):
    cfg = write_config(tmp_path / "cfg.yaml", "- age\n- label\n")
    check_fails("train", cfg, "-d", data, needles=["cfg.yaml", "mapping", "list"])


def test_config_empty_file(tmp_path, data):
    cfg = write_config(tmp_path / "cfg.yaml", "")
    check_fails("train", cfg, "-d", data, needles=["cfg.yaml", "mapping"])


def test_config_unknown_key_suggests_nearest(tmp_path, data):
    cfg = base_config() | {"combiner": {"hiden_size": 32}}
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["cfg.yaml", "combiner.hiden_size", "unknown key", "did you mean 'hidden_size'"])


def test_config_unknown_key_in_feature(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dimm": 4}
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["input_features[2].encoder.dimm", "did you mean 'dim'"])


def test_config_wrong_type(tmp_path, data):
    cfg = base_config() | {"trainer": {"epochs": "ten"}}
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["cfg.yaml", "trainer.epochs", "'ten'"], patterns=[r"integer"])


def test_config_out_of_range(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dim": -4}
    run = check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
                needles=["cfg.yaml", "input_features[2].encoder.dim", "-4"], patterns=[r"greater than 0"])
    assert "input_features[2].category" not in run.errors, "the union tag is not part of the YAML path"


def test_config_unknown_feature_type_suggests(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][1]["type"] = "nmber"
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["input_features[1].type", "'nmber'", "did you mean 'number'", "category"])


def test_config_feature_without_type(tmp_path, data):
    cfg = base_config()
    del cfg["input_features"][0]["type"]
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["input_features[0]", "type"])


def test_config_duplicate_feature_names(tmp_path, data):
    cfg = base_config()
    cfg["input_features"].append({"name": "age", "type": "category"})
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["duplicate", "'age'", "input_features[3]", "input_features[0]"])


def test_config_column_the_data_lacks(tmp_path, data):
    cfg = base_config()
    cfg["input_features"].append({"name": "weight", "type": "number"})
    run = check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
                needles=["'weight'", "input_features[3]", "data.csv"])
    has = run.errors.split("weight", 1)[1]
    for column in COLUMNS:
        assert column in has, f"the message should list the data's columns:\n{run.errors}"


def test_config_target_column_the_data_lacks(tmp_path, data):
    cfg = base_config()
    cfg["output_features"] = [{"name": "churned", "type": "binary"}]
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
          needles=["'churned'", "output_features[0]", *COLUMNS])


@pytest.mark.parametrize("value", [[], None], ids=["empty-list", "key-missing"])
def test_config_no_inputs(tmp_path, data, value):
    cfg = base_config()
    if value is None:
        del cfg["input_features"]
    else:
        cfg["input_features"] = value
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data, needles=["cfg.yaml", "input_features"])


@pytest.mark.parametrize("value", [[], None], ids=["empty-list", "key-missing"])
def test_config_no_outputs(tmp_path, data, value):
    cfg = base_config()
    if value is None:
        del cfg["output_features"]
    else:
        cfg["output_features"] = value
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data, needles=["cfg.yaml", "output_features"])


def test_config_file_missing(tmp_path, data):
    check_fails("train", tmp_path / "nope.yaml", "-d", data, needles=["nope.yaml", "no such config file"])


def test_config_render_reports_the_same_errors(tmp_path):
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dim": -4}
    check_fails("config", "render", write_config(tmp_path / "cfg.yaml", cfg),
          needles=["input_features[2].encoder.dim", "-4"])


def test_config_several_problems_one_line_each(tmp_path, data):
    cfg = base_config() | {"trainer": {"epochs": "ten", "batch_size": -1}}
    run = check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data,
                needles=["trainer.epochs", "trainer.batch_size"])
    assert len(run.lines("error:")) == 2, run.stderr


def test_config_error_in_a_real_process(tmp_path, data):
    """Outside CliRunner (stderr a pipe, rich never loaded): one plain line, exit 2."""
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dim": -4}
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "train", str(write_config(tmp_path / "cfg.yaml", cfg)),
                           "-d", str(data)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'cfg.yaml'}: input_features[2].encoder.dim: input should be greater than 0, got -4"]
    assert proc.stdout == ""


# ---- data -----------------------------------------------------------------

def test_data_empty_file(tmp_path, cfg_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    check_fails("train", cfg_path, "-d", empty, needles=["empty.csv", "empty"])


def test_data_header_only(tmp_path, cfg_path):
    header = tmp_path / "header.csv"
    header.write_text(",".join(COLUMNS) + "\n")
    check_fails("train", cfg_path, "-d", header, needles=["header.csv", "no rows"])


def test_data_not_utf8(tmp_path, cfg_path):
    bad = tmp_path / "latin1.csv"
    text = "\n".join([",".join(COLUMNS)] + [f"{20 + i},{1000 + i},caf\xe9,{'yes' if i % 2 else 'no'}"
                                            for i in range(ROWS)]) + "\n"
    bad.write_bytes(text.encode("latin-1"))
    check_fails("train", cfg_path, "-d", bad, needles=["latin1.csv", "UTF-8"])


def test_data_is_a_directory(tmp_path, cfg_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    check_fails("train", cfg_path, "-d", folder, needles=["folder.csv", "directory"])


def test_data_file_missing(tmp_path, cfg_path):
    check_fails("train", cfg_path, "-d", tmp_path / "absent.csv", needles=["absent.csv", "no such"])


def test_data_unknown_suffix(tmp_path, cfg_path):
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    check_fails("train", cfg_path, "-d", odd, needles=["data.xlsx", "'.xlsx'", ".csv", ".parquet"])


def test_data_target_all_missing(tmp_path, cfg_path):
    table = [r | {"label": ""} for r in rows()]
    data_file = write_csv(tmp_path / "data.csv", table)
    check_fails("train", cfg_path, "-d", data_file, needles=["data.csv", "'label'", "missing"])


@pytest.mark.parametrize("kind", ["category", "binary"])
def test_data_target_one_class(tmp_path, kind):
    cfg = base_config()
    cfg["output_features"] = [{"name": "label", "type": kind}]
    data_file = write_csv(tmp_path / "data.csv", [r | {"label": "yes"} for r in rows()])
    run = train(tmp_path, cfg, data_file)
    assert run.code == 2, run.stderr
    assert "'label'" in run.errors and "one class" in run.errors and "yes" in run.errors, run.stderr
    assert not (tmp_path / "model").exists()


def test_data_rows_with_missing_target_are_dropped(tmp_path):
    table = rows()
    for i in (3, 10, 17, 24, 31):
        table[i]["label"] = ""
    run = train(tmp_path, base_config(), write_csv(tmp_path / "data.csv", table))
    assert run.code == 0, run.stderr
    assert not run.errors, run.stderr
    assert re.search(r"\b5\b", run.warnings) and "missing target" in run.warnings, run.stderr
    assert (tmp_path / "model" / "manifest.json").exists()
    stats = json.loads((tmp_path / "model" / "training_stats.json").read_text())
    assert stats["data"]["dropped_missing_target"] == 5
    assert sum(stats["data"]["rows_per_split"].values()) == ROWS - 5


def test_data_unparseable_numbers_are_missing(tmp_path):
    table = rows()
    for i in (2, 9, 40):
        table[i]["income"] = "n/a?"
    table[5]["income"] = "abc"
    run = train(tmp_path, base_config(), write_csv(tmp_path / "data.csv", table))
    assert run.code == 0, run.stderr
    assert not run.errors, run.stderr
    line = next((w for w in run.lines("warning:") if "'income'" in w), "")
    assert line, f"no warning names the column 'income':\n{run.stderr}"
    assert re.search(r"\b4\b", line), f"the warning should give the count 4:\n{line}"
    assert (tmp_path / "model" / "manifest.json").exists()


def test_data_all_missing_input_column(tmp_path, cfg_path):
    data_file = write_csv(tmp_path / "data.csv", [r | {"income": ""} for r in rows()])
    check_fails("train", cfg_path, "-d", data_file, needles=["data.csv", "'income'", "missing"])


def test_data_all_unparseable_input_column(tmp_path, cfg_path):
    data_file = write_csv(tmp_path / "data.csv", [r | {"income": "lots"} for r in rows()])
    check_fails("train", cfg_path, "-d", data_file, needles=["'income'"])


def test_data_fixed_split_bad_value(tmp_path):
    table = [r | {"split": ("train", "validation", "test", "train", "train")[i % 5]} for i, r in enumerate(rows())]
    table[6]["split"] = "banana"
    cfg = base_config() | {"preprocessing": {"split": {"type": "fixed", "column": "split"}}}
    run = train(tmp_path, cfg, write_csv(tmp_path / "data.csv", table))
    assert run.code == 2, run.stderr
    # Data row 7 (1-based, header not counted) is line 8 of the file; either wording names it.
    assert re.search(r"\brow 7\b|\bline 8\b", run.errors), run.stderr
    assert "'split'" in run.errors and "banana" in run.errors, run.stderr


def test_data_fixed_split_column_missing(tmp_path, data):
    cfg = base_config() | {"preprocessing": {"split": {"type": "fixed", "column": "fold"}}}
    run = train(tmp_path, cfg, data)
    assert run.code == 2, run.stderr
    assert "'fold'" in run.errors and "preprocessing.split.column" in run.errors, run.stderr


# ---- predict / evaluate ---------------------------------------------------

@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_model_dir_missing(tmp_path, data, command):
    check_fails(command, tmp_path / "no-model", "-d", data, needles=["no-model", "no such model directory"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_model_dir_without_manifest(tmp_path, trained, data, command):
    broken = tmp_path / "half-written"
    shutil.copytree(trained, broken)
    (broken / "manifest.json").unlink()
    check_fails(command, broken, "-d", data, needles=["half-written", "incomplete model directory", "manifest.json"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_model_dir_empty(tmp_path, data, command):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    check_fails(command, empty, "-d", data, needles=["empty-model", "incomplete model directory"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_model_dir_missing_weights(tmp_path, trained, data, command):
    broken = tmp_path / "no-weights"
    shutil.copytree(trained, broken)
    (broken / "model.safetensors").unlink()
    check_fails(command, broken, "-d", data, needles=["model.safetensors"], patterns=[r"incomplete|missing"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_dataset_missing_an_input_column(tmp_path, trained, command):
    data_file = write_csv(tmp_path / "new.csv", rows(), columns=["age", "income", "label"])
    check_fails(command, trained, "-d", data_file, needles=["new.csv", "'color'", "input_features[2]", "age, income"])


def test_evaluate_dataset_missing_the_target(tmp_path, trained):
    data_file = write_csv(tmp_path / "new.csv", rows(), columns=["age", "income", "color"])
    check_fails("evaluate", trained, "-d", data_file, needles=["new.csv", "'label'", "output_features[0]"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_bad_dataset_file(tmp_path, trained, command):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    check_fails(command, trained, "-d", empty, needles=["empty.csv", "empty"])


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_tampered_weights(tmp_path, trained, data, command):
    tampered = tmp_path / "tampered"
    shutil.copytree(trained, tampered)
    weights = tampered / "model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    weights.write_bytes(bytes(blob))
    check_fails(command, tampered, "-d", data, needles=["model.safetensors"], patterns=[r"sha256|changed|damaged"])


def test_predict_and_evaluate_work_on_the_good_model(trained, data):
    """The control: the same model and data, unbroken, succeed."""
    run = tk("predict", trained, "-d", data)
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("label::label")
    assert len(run.stdout.splitlines()) == ROWS + 1
    run = tk("evaluate", trained, "-d", data, "--json")
    assert run.code == 0, run.stderr
