"""Config mistakes: each ends in exit 2 and one `error:` line naming cfg.yaml and the YAML path.

Covers YAML that does not parse or is not a mapping, unknown keys (with a
suggestion), wrong types, out-of-range values, unknown feature types, duplicate
names, columns the data lacks, missing inputs/outputs, a missing config file,
`tk config render`, several problems at once, and the plain line a real process
prints. Helpers: tests/bad_input_helpers.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bad_input_helpers import COLUMNS, base_config, check_fails, rows, write_config, write_csv


@pytest.fixture
def data(tmp_path) -> Path:
    return write_csv(tmp_path / "data.csv", rows())


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
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["cfg.yaml", "combiner.hiden_size", "unknown key", "did you mean 'hidden_size'"],
    )


def test_config_unknown_key_in_feature(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dimm": 4}
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["input_features[2].encoder.dimm", "did you mean 'dim'"],
    )


def test_config_wrong_type(tmp_path, data):
    cfg = base_config() | {"trainer": {"epochs": "ten"}}
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["cfg.yaml", "trainer.epochs", "'ten'"],
        patterns=[r"integer"],
    )


def test_config_out_of_range(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dim": -4}
    run = check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["cfg.yaml", "input_features[2].encoder.dim", "-4"],
        patterns=[r"greater than 0"],
    )
    assert "input_features[2].category" not in run.errors, "the union tag is not part of the YAML path"


def test_config_unknown_feature_type_suggests(tmp_path, data):
    cfg = base_config()
    cfg["input_features"][1]["type"] = "nmber"
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["input_features[1].type", "'nmber'", "did you mean 'number'", "category"],
    )


def test_config_feature_without_type(tmp_path, data):
    cfg = base_config()
    del cfg["input_features"][0]["type"]
    check_fails("train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data, needles=["input_features[0]", "type"])


def test_config_duplicate_feature_names(tmp_path, data):
    cfg = base_config()
    cfg["input_features"].append({"name": "age", "type": "category"})
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["duplicate", "'age'", "input_features[3]", "input_features[0]"],
    )


def test_config_column_the_data_lacks(tmp_path, data):
    cfg = base_config()
    cfg["input_features"].append({"name": "weight", "type": "number"})
    run = check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["'weight'", "input_features[3]", "data.csv"],
    )
    has = run.errors.split("weight", 1)[1]
    for column in COLUMNS:
        assert column in has, f"the message should list the data's columns:\n{run.errors}"


def test_config_target_column_the_data_lacks(tmp_path, data):
    cfg = base_config()
    cfg["output_features"] = [{"name": "churned", "type": "binary"}]
    check_fails(
        "train",
        write_config(tmp_path / "cfg.yaml", cfg),
        "-d",
        data,
        needles=["'churned'", "output_features[0]", *COLUMNS],
    )


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
    check_fails(
        "config", "render", write_config(tmp_path / "cfg.yaml", cfg), needles=["input_features[2].encoder.dim", "-4"]
    )


def test_config_several_problems_one_line_each(tmp_path, data):
    cfg = base_config() | {"trainer": {"epochs": "ten", "batch_size": -1}}
    run = check_fails(
        "train", write_config(tmp_path / "cfg.yaml", cfg), "-d", data, needles=["trainer.epochs", "trainer.batch_size"]
    )
    assert len(run.lines("error:")) == 2, run.stderr


def test_config_error_in_a_real_process(tmp_path, data):
    """Outside CliRunner (stderr a pipe, rich never loaded): one plain line, exit 2."""
    cfg = base_config()
    cfg["input_features"][2]["encoder"] = {"dim": -4}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.cli.main",
            "train",
            str(write_config(tmp_path / "cfg.yaml", cfg)),
            "-d",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path / 'cfg.yaml'}: input_features[2].encoder.dim: input should be greater than 0, got -4"
    ]
    assert proc.stdout == ""
