"""`tk init-config`'s errors: an unknown or unusable target, unreadable files, each named in one line."""

from __future__ import annotations

import pytest

from tests.init_config_helpers import CHURN, tk, write_csv
from toolkit.config import guess as infer
from toolkit.errors import TkError

# ---- errors -----------------------------------------------------------------


def test_unknown_target_exits_2_listing_the_columns():
    result = tk("init-config", str(CHURN), "--target", "chrun")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no such column: --target 'chrun'" in lines[0] and "did you mean 'churn'" in lines[0]
    assert "the data has: churn, female, senior_citizen" in lines[0] and "split" in lines[0]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.csv", None, "no such data file"),
        ("empty.csv", "", "the data file is empty"),
        ("header.csv", "a,b\n", "no rows"),
        ("data.xlsx", "a\n1\n", "unknown file type '.xlsx'"),
        ("ragged.csv", "a,b\n1,2,3\n", "data row 1 has 3 fields; the header has 2"),
        ("latin1.csv", b"a,b\n\xe9t\xe9,1\n", "not UTF-8 text"),
        ("bad.jsonl", '{"a": 1}\n{"a": \n', "line 2: not valid JSON"),
        ("list.jsonl", "[1, 2]\n", "line 1: expected one JSON object per line"),
        ("junk.parquet", "not parquet", "cannot read as parquet"),
    ],
)
def test_bad_files_name_the_file_in_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(TkError) as e:
        infer.config_yaml(path, ["a"])
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_unusable_targets_are_errors(tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"x": i, "same": "k", "none": ""} for i in range(30)])
    with pytest.raises(TkError, match="--target 'same': every value is 'k'; nothing to predict"):
        infer.config_yaml(path, ["same"])
    with pytest.raises(TkError, match="--target 'none': every value is missing"):
        infer.config_yaml(path, ["none"])
