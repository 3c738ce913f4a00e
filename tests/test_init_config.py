"""`tk init-config`: the rules that infer types from the data, the split, the file formats it reads, the YAML it
writes. The shipped examples: test_init_config_churn.py, test_init_config_text.py; errors:
test_init_config_errors.py; strings with a shape: test_init_config_shapes.py.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.init_config_helpers import mixed_rows, types, write_csv
from toolkit.config import guess as infer
from toolkit.config.schema import validate_config
from toolkit.data import sample as sample_read

# ---- rules ------------------------------------------------------------------


def test_skips_ids_constants_missing_with_a_comment(tmp_path):
    text = infer.config_yaml(write_csv(tmp_path / "mixed.csv", mixed_rows()), ["label"])
    inputs, outputs, cfg = types(text)
    assert inputs == {
        "comment": "text",
        "signup": "date",
        "color": "category",
        "vip": "binary",
        "kids": "number",
        "income": "number",
        "plan_code": "category",
    }
    assert outputs == {"label": "category"}
    assert cfg["preprocessing"] == {"split": {"type": "stratified"}}
    for line in [
        "# skipped: customer_id — looks like an id (all values distinct)",
        "# skipped: row_number — looks like an id (all values distinct)",
        "# skipped: country — constant: every value is 'NZ'",
        "# skipped: nothing — every value is missing",
    ]:
        assert line in text.splitlines()
    assert "  - {name: income, type: number}  # 3 value(s) are not numbers ('?'): read as missing" in text
    validate_config(cfg)


@pytest.mark.parametrize(
    "values, expected",
    [
        (["0", "1"], "binary"),
        (["yes", "No", "YES"], "binary"),
        (["true", "false", ""], "binary"),
        (["apple", "pear"], "binary"),
        ([str(i % 5) for i in range(5)], "number"),  # few integers keep their order
        ([f"{i / 3:.3f}" for i in range(50)] + [""] * 5, "number"),  # blanks allowed
        (["01", "02", "03", "01"], "category"),  # zero-padded codes are strings
        (["x", "y", "z"], "category"),
    ],
)
def test_input_rules(tmp_path, values, expected):
    rows = [{"col": values[i % len(values)], "y": i % 2} for i in range(60)]
    inputs, _, _ = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"]))
    assert inputs == {"col": expected}


@pytest.mark.parametrize(
    "values, expected, split",
    [
        (["No", "Yes"], "binary", "stratified"),
        ([str(i) for i in range(5)], "category", "stratified"),
        ([str(i * 1.5) for i in range(40)], "number", "random"),
        (["cat", "dog", "fish"], "category", "stratified"),
    ],
)
def test_target_rules(tmp_path, values, expected, split):
    rows = [{"x": i % 7, "y": values[i % len(values)]} for i in range(80)]
    _, outputs, cfg = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"]))
    assert outputs == {"y": expected}
    assert cfg["preprocessing"]["split"] == {"type": split}


def test_split_column_is_used_only_when_every_value_is_a_split_name(tmp_path):
    rows = [{"x": i % 7, "y": i % 2, "split": ["0", "1", "2"][i % 3]} for i in range(30)]
    inputs, _, cfg = types(infer.config_yaml(write_csv(tmp_path / "ok.csv", rows), ["y"]))
    assert cfg["preprocessing"]["split"] == {"type": "fixed", "column": "split"}
    assert "split" not in inputs
    rows = [{**r, "split": ["train", "test", "holdout"][i % 3]} for i, r in enumerate(rows)]
    text = infer.config_yaml(write_csv(tmp_path / "bad.csv", rows), ["y"])
    inputs, _, cfg = types(text)
    assert cfg["preprocessing"]["split"] == {"type": "stratified"}
    assert inputs["split"] == "category"
    assert "# note: column split is not used as the split: values like 'holdout'" in text


def test_several_targets_and_awkward_names_round_trip_through_yaml(tmp_path):
    names = ["yes", "null", "a: b", "#hash", "1e3", "naïve col", "with, comma", "{x}", "- dash", 'quo"te']
    rows = [
        {n: ["p", "q", "r"][(i + k) % 3] for k, n in enumerate(names)} | {"t1": i % 2, "t2": i * 0.5} for i in range(50)
    ]
    text = infer.config_yaml(write_csv(tmp_path / "odd.csv", rows), ["t1", "t2", "t1"])
    inputs, outputs, cfg = types(text)
    assert list(inputs) == names
    assert outputs == {"t1": "binary", "t2": "number"}
    validate_config(cfg)


def test_jsonl_and_parquet_read_like_csv(tmp_path):
    rows = mixed_rows()
    expected = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["label"]))[:2]
    with (tmp_path / "d.jsonl").open("w") as f:
        for r in rows:
            f.write(json.dumps({k: (None if v == "" else v) for k, v in r.items()}) + "\n")
    assert types(infer.config_yaml(tmp_path / "d.jsonl", ["label"]))[:2] == expected
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    assert types(infer.config_yaml(tmp_path / "d.parquet", ["label"]))[:2] == expected


def test_tsv_with_a_byte_order_mark(tmp_path):
    rows = mixed_rows()
    expected = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["label"]))[:2]
    lines = ["\t".join(rows[0])] + ["\t".join(str(v) for v in r.values()) for r in rows]
    (tmp_path / "d.tsv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    assert types(infer.config_yaml(tmp_path / "d.tsv", ["label"]))[:2] == expected


def test_large_files_are_sampled_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(sample_read, "MAX_ROWS", 40)
    text = infer.config_yaml(write_csv(tmp_path / "d.csv", mixed_rows(100)), ["label"])
    assert text.startswith("# Written by `tk init-config` from d.csv (the first 40 rows, 12 columns).")
    assert infer.config_yaml(write_csv(tmp_path / "e.csv", mixed_rows(40)), ["label"]).startswith(
        "# Written by `tk init-config` from e.csv (40 rows, 12 columns)."
    )


def test_dataset_path_relative_to_the_config_directory(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "configs").mkdir()
    data = write_csv(tmp_path / "data" / "d.csv", mixed_rows())
    cfg = yaml.safe_load(infer.config_yaml(data, ["label"], relative_to=tmp_path / "configs"))
    assert cfg["dataset"] == "../data/d.csv"
    assert yaml.safe_load(infer.config_yaml(data, ["label"]))["dataset"] == str(data)


def test_constants_agree_with_the_data_module():
    from toolkit.data import tables as data

    assert sample_read.file_kind is data.file_kind  # one suffix map: toolkit.data.formats
    assert infer.SPLIT_NAMES == set(data.SPLIT_NAMES)
