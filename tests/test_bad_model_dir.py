"""Model-directory mistakes for `tk predict` / `tk evaluate`: exit 2, one `error:` line.

Covers a missing, empty, half-written (no manifest) or weightless model
directory, tampered weights (sha256 check), a dataset missing an input column or
the target, and an empty dataset file; the control case shows the unbroken
model and data succeed. One model is trained once per module (`trained`).
Helpers: tests/bad_input_helpers.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bad_input_helpers import ROWS, base_config, check_fails, rows, tk, train, write_csv


@pytest.fixture
def data(tmp_path) -> Path:
    return write_csv(tmp_path / "data.csv", rows())


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One model directory trained for one epoch, shared by the predict/evaluate cases."""
    root = tmp_path_factory.mktemp("trained")
    data_file = write_csv(root / "data.csv", rows())
    run = train(root, base_config(), data_file)
    assert run.code == 0, run.stderr
    assert (root / "model" / "manifest.json").exists()
    return root / "model"


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
