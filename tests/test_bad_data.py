"""Data-file mistakes: exit 2 and one `error:` line naming the file, column or row.

Covers empty / header-only / non-UTF-8 / directory / missing files, unknown
suffixes, an all-missing or one-class target, all-missing or all-unparseable
input columns and bad fixed-split values. Some bad data is not an error: rows
with a missing target are dropped and unparseable numbers become missing; those
train (exit 0) and a warning gives the count. Helpers: tests/bad_input_helpers.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.bad_input_helpers import COLUMNS, ROWS, base_config, check_fails, rows, train, write_config, write_csv


@pytest.fixture
def data(tmp_path) -> Path:
    return write_csv(tmp_path / "data.csv", rows())


@pytest.fixture
def cfg_path(tmp_path) -> Path:
    return write_config(tmp_path / "cfg.yaml", base_config())


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
    text = (
        "\n".join(
            [",".join(COLUMNS)] + [f"{20 + i},{1000 + i},caf\xe9,{'yes' if i % 2 else 'no'}" for i in range(ROWS)]
        )
        + "\n"
    )
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
