"""`tk init-config`: type inference from the data, the YAML it writes, its errors and its speed."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from toolkit.config import guess as infer
from toolkit.config.schema import validate_config
from toolkit.data import sample as sample_read
from toolkit.errors import TkError

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn" / "churn.csv"

CHURN_TYPES = {
    **dict.fromkeys(
        ["female", "senior_citizen", "partner", "dependents", "phone_service", "paperless_billing"], "binary"
    ),
    **dict.fromkeys(["tenure", "monthly_charges", "total_charges"], "number"),
    **dict.fromkeys(
        [
            "multiple_lines",
            "internet_service",
            "online_security",
            "online_backup",
            "device_protection",
            "tech_support",
            "streaming_tv",
            "streaming_movies",
            "contract",
            "payment_method",
        ],
        "category",
    ),
}


def tk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli.main", *args], cwd=cwd or ROOT, capture_output=True, text=True, timeout=60
    )


def types(text: str) -> tuple[dict, dict, dict]:
    cfg = yaml.safe_load(text)
    return (
        {f["name"]: f["type"] for f in cfg["input_features"]},
        {f["name"]: f["type"] for f in cfg["output_features"]},
        cfg,
    )


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def mixed_rows(n: int = 120) -> list[dict]:
    words = "the quick brown fox jumps over a lazy dog then runs far away".split()
    return [
        {
            "customer_id": f"C-{i:05d}",
            "row_number": 1000 + 7 * i,
            "country": "NZ",
            "nothing": "",
            "comment": " ".join(words[(i * k) % len(words)] for k in range(1, 5 + i % 4)) + f" #{i}",
            "signup": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "color": ["red", "green", "blue", "Red"][i % 4],
            "vip": ["Yes", "no"][i % 2],
            "kids": i % 4,
            "income": "?" if i % 40 == 0 else str(20000 + 37 * i),
            "plan_code": f"{i % 5:03d}",
            "label": ["a", "b", "c"][i % 3],
        }
        for i in range(n)
    ]


# ---- the churn example ------------------------------------------------------


def test_churn_types_and_fixed_split():
    result = tk("init-config", str(CHURN), "--target", "churn")
    assert result.returncode == 0, result.stderr
    inputs, outputs, cfg = types(result.stdout)
    assert inputs == CHURN_TYPES
    assert outputs == {"churn": "binary"}
    assert cfg["preprocessing"] == {"split": {"type": "fixed", "column": "split"}}
    assert cfg["dataset"] == str(CHURN)
    assert "# skipped" not in result.stdout
    validate_config(cfg)


def test_generated_churn_config_trains(tmp_path):
    """The user's path: copy the data, init-config -o, train from that file."""
    from toolkit import train

    shutil.copy(CHURN, tmp_path / "churn.csv")
    result = tk("init-config", "churn.csv", "-t", "churn", "-o", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP: more threads only contend (10x slower on a busy 2-core box)
    try:
        model = train(tmp_path / "config.yaml", output=tmp_path / "model")
    finally:
        torch.set_num_threads(threads)
    auc = model.stats["metrics"]["test"]["churn"]["roc_auc"]
    assert auc >= 0.84, f"test ROC AUC {auc:.4f}"


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


# ---- speed ------------------------------------------------------------------


def test_init_config_never_imports_the_heavy_stack(tmp_path):
    code = f"""
import sys
from typer.testing import CliRunner
from toolkit.cli.main import app
r = CliRunner().invoke(app, ["init-config", {str(CHURN)!r}, "-t", "churn", "-o", {str(tmp_path / "c.yaml")!r}])
assert r.exit_code == 0, r.output
heavy = sorted({{"torch", "pandas", "sklearn", "onnx", "onnxruntime"}} & set(sys.modules))
assert not heavy, heavy
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.yaml").read_text().startswith("# Written by `tk init-config`")


def test_inference_on_churn_is_fast():
    """The whole command must answer in 0.5 s; the inference itself takes well under half of it."""
    best = min(_cpu_seconds(lambda: infer.config_yaml(CHURN, ["churn"])) for _ in range(3))
    assert best < 0.2, f"{best:.3f} s of CPU"


def _cpu_seconds(fn) -> float:
    """CPU time, not wall time: a busy machine does not make the test flaky."""
    start = time.process_time()
    fn()
    return time.process_time() - start


# ---- text and sets -------------------------------------------------------------

REVIEWS = ROOT / "examples" / "reviews" / "reviews.csv"


def test_reviews_text_column_is_text_and_the_product_id_is_skipped():
    text = infer.config_yaml(REVIEWS, ["score"])
    inputs, outputs, cfg = types(text)
    assert inputs == {"review": "text"}
    assert outputs == {"score": "binary"}
    assert cfg["preprocessing"]["split"] == {"type": "fixed", "column": "split"}
    assert "# skipped: product — looks like an id (all values distinct)" in text
    assert (
        "  - {name: review, type: text, preprocessing: {ngrams: 2, min_count: 1}, encoder: {embedding_lr: 30}}  "
        "# 73 words on average, 95 % ≤ 197"
    ) in text
    validate_config(cfg)


def tag_rows(n: int = 200, delimiter: str = ", ") -> list[dict]:
    tags = ["vegan", "gluten free", "organic", "gift", "spicy", "kosher"]
    return [
        {
            "tags": delimiter.join(tags[(i * k) % len(tags)] for k in range(1, 1 + i % 4)),
            "labels": delimiter.join(tags[(i // 3 + k) % len(tags)] for k in range(i % 3)),
            "y": i % 2,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "delimiter, yaml_type",
    [
        (", ", "set"),
        (",", "set"),
        ("|", 'set, preprocessing: {delimiter: "|"}'),
        (" ; ", 'set, preprocessing: {delimiter: ";"}'),
    ],
)
def test_delimited_vocabularies_are_sets(tmp_path, delimiter, yaml_type):
    text = infer.config_yaml(write_csv(tmp_path / "d.csv", tag_rows(delimiter=delimiter)), ["y"])
    inputs, _, cfg = types(text)
    assert inputs["tags"] == "set"
    assert f"  - {{name: tags, type: {yaml_type}}}  # 6 members split at" in text
    validate_config(cfg)
    if "delimiter" in yaml_type:
        assert cfg["input_features"][0]["preprocessing"] == {"delimiter": delimiter.strip()}


def test_a_set_target_is_a_set_with_a_random_split(tmp_path):
    inputs, outputs, cfg = types(infer.config_yaml(write_csv(tmp_path / "d.csv", tag_rows()), ["labels"]))
    assert outputs == {"labels": "set"}
    assert cfg["preprocessing"]["split"] == {"type": "random"}
    validate_config(cfg)


@pytest.mark.parametrize(
    "values, expected",
    [
        (["1,234", "2,500", "12,000", "3,5", "7"], "category"),  # thousands / decimal commas
        ([f"Smith, J{i}" for i in range(60)], None),  # all distinct names: an id
        (["Portland, OR", "Seattle, WA", "Boise, ID", "Boise", "Eugene, OR"], "category"),  # more members than values
        ([f"Great taste, good price, would buy again {i}" for i in range(60)], "text"),  # phrases: text
    ],
)
def test_commas_alone_do_not_make_a_set(tmp_path, values, expected):
    rows = [{"col": values[i % len(values)], "x": i % 7, "y": i % 2} for i in range(60)]
    inputs, _, _ = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"]))
    assert inputs.get("col") == expected


def test_generated_reviews_config_trains(tmp_path):
    """init-config on the reviews, as written, trains to a useful model (defaults: punctuation, unigrams)."""
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    shutil.copy(REVIEWS, tmp_path / "reviews.csv")
    result = tk("init-config", "reviews.csv", "-t", "score", "-o", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["dataset"] = str(tmp_path / "reviews.csv")
    cfg["trainer"] = {"epochs": 4, "batch_size": 256, "learning_rate": 0.006, "threads": 1}
    model = train(cfg)
    auc = model.stats["metrics"]["test"]["score"]["roc_auc"]
    assert auc >= 0.83, f"test ROC AUC {auc:.4f}"
