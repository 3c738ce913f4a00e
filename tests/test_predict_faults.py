"""Data that does not fit expectations at predict time (issue 6, item 5).

`tk predict MODEL -d FILE -o out.csv` on: a category never seen (predicted,
imputed as unknown), text in a number column (README "Data": unparseable
numbers become missing, counted per column), a missing column (exit 2 listing
it), a 0-row file (exit 2 "no rows"), a broken CSV line (exit 2 naming the
line). In every failing case no output file, and no temporary file, is left
behind; a failing run does not touch an existing output file either.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.bad_input_helpers import base_config, check_fails, rows, tk, train, write_csv
from tests.conftest import CHURN

ENGINES = ["onnx", "torch"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults")
    run = train(root, base_config(), write_csv(root / "data.csv", rows()))
    assert run.code == 0, run.stderr
    return root / "model"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def leftovers(directory: Path, out: Path) -> list[str]:
    """The output file and any temporary sibling of it (a partial write)."""
    return sorted(p.name for p in directory.iterdir() if p.name == out.name or out.name in p.name)


def read_preds(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---- imputed / coerced: a prediction for every row ------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_unseen_category_is_predicted_as_unknown(tmp_path, model_dir, engine):
    data = write(tmp_path / "new.csv", "age,income,color,label\n30,1000,purple,yes\n31,1200,,no\n32,1300,red,no\n")
    out = tmp_path / "out.csv"
    run = tk("predict", model_dir, "-d", data, "-o", out, "--engine", engine)
    assert run.code == 0, run.stderr
    preds = read_preds(out)
    assert len(preds) == 3
    assert all(p["label::label"] in ("yes", "no") for p in preds)
    for p in preds:
        assert abs(float(p["label::probability::yes"]) + float(p["label::probability::no"]) - 1) < 1e-5


def test_unseen_category_gives_the_same_answer_on_both_engines(tmp_path, model_dir):
    data = write(tmp_path / "new.csv", "age,income,color\n30,1000,purple\n30,1000,ÜNSEEN😀\n")
    answers = []
    for engine in ENGINES:
        out = tmp_path / f"{engine}.csv"
        assert tk("predict", model_dir, "-d", data, "-o", out, "--engine", engine).code == 0
        answers.append(read_preds(out))
    for a, b in zip(*answers):
        assert a["label::label"] == b["label::label"]
        assert abs(float(a["label::probability::yes"]) - float(b["label::probability::yes"])) <= 1e-5
    # both unseen values are the same "unknown" id: the same answer
    assert answers[0][0] == answers[0][1]


@pytest.mark.parametrize("engine", ENGINES)
def test_text_in_a_number_column_is_an_error_naming_file_row_and_column(tmp_path, model_dir, engine):
    """Training treats unparseable numbers as missing (counted); at prediction both engines
    refuse them, like the Predictor, naming the file, the 1-based row and the column."""
    data = write(tmp_path / "new.csv", "age,income,color\n31,2000,blue\nabc,1000,red\n")
    out = tmp_path / "out.csv"
    check_fails(
        "predict", model_dir, "-d", data, "-o", out, "--engine", engine, needles=["new.csv", "row 2", "'age'", "'abc'"]
    )
    assert leftovers(tmp_path, out) == []


# ---- clear errors, nothing written ------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_column_exits_2_listing_it_and_writes_nothing(tmp_path, model_dir, engine):
    data = write(tmp_path / "new.csv", "age,label\n30,yes\n")
    out = tmp_path / "out.csv"
    check_fails(
        "predict",
        model_dir,
        "-d",
        data,
        "-o",
        out,
        "--engine",
        engine,
        needles=[
            "new.csv",
            "'income'",
            "'color'",
            "input_features[1]",
            "input_features[2]",
            "the data has: age, label",
        ],
    )
    assert leftovers(tmp_path, out) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_row_file_exits_2_and_writes_nothing(tmp_path, model_dir, engine):
    """Header only: tk predict refuses with 'no rows' (it does not write an empty predictions file)."""
    data = write(tmp_path / "new.csv", "age,income,color,label\n")
    out = tmp_path / "out.csv"
    check_fails("predict", model_dir, "-d", data, "-o", out, "--engine", engine, needles=["new.csv", "no rows"])
    assert leftovers(tmp_path, out) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_line_with_too_many_fields_exits_2_naming_the_line(tmp_path, model_dir, engine):
    data = write(tmp_path / "new.csv", "age,income,color\n30,1000,red\n31,2000,blue,x,y\n32,3000,green\n")
    out = tmp_path / "out.csv"
    check_fails(
        "predict",
        model_dir,
        "-d",
        data,
        "-o",
        out,
        "--engine",
        engine,
        needles=["new.csv", "line 3"],
        patterns=[r"cannot parse"],
    )
    assert leftovers(tmp_path, out) == []


def test_unclosed_quote_exits_2_naming_where(tmp_path, model_dir):
    data = write(tmp_path / "new.csv", 'age,income,color\n30,1000,"red\n31,2000,blue\n')
    out = tmp_path / "out.csv"
    check_fails("predict", model_dir, "-d", data, "-o", out, needles=["new.csv", "cannot parse"], patterns=[r"row \d+"])
    assert leftovers(tmp_path, out) == []


def test_not_utf8_exits_2_naming_the_byte(tmp_path, model_dir):
    data = tmp_path / "new.csv"
    data.write_bytes(b"age,income,color\n30,1000,r\xffd\n")
    out = tmp_path / "out.csv"
    check_fails("predict", model_dir, "-d", data, "-o", out, needles=["new.csv", "UTF-8"], patterns=[r"byte \d+"])
    assert leftovers(tmp_path, out) == []


def test_a_failing_run_leaves_an_existing_output_untouched(tmp_path, model_dir):
    out = tmp_path / "out.csv"
    out.write_text("previous,complete\n1,2\n", encoding="utf-8")
    data = write(tmp_path / "new.csv", "age,label\n30,yes\n")
    check_fails("predict", model_dir, "-d", data, "-o", out, needles=["'color'"])
    assert out.read_text(encoding="utf-8") == "previous,complete\n1,2\n"
    assert leftovers(tmp_path, out) == ["out.csv"]


def test_unknown_output_suffix_exits_2_and_writes_nothing(tmp_path, model_dir):
    data = write_csv(tmp_path / "new.csv", rows(3))
    out = tmp_path / "out.xlsx"
    check_fails("predict", model_dir, "-d", data, "-o", out, needles=["out.xlsx", "'.xlsx'"])
    assert leftovers(tmp_path, out) == []


def test_the_control_writes_one_prediction_per_row(tmp_path, model_dir):
    data = write_csv(tmp_path / "new.csv", rows(7))
    out = tmp_path / "out.csv"
    run = tk("predict", model_dir, "-d", data, "-o", out)
    assert run.code == 0, run.stderr
    assert len(read_preds(out)) == 7
    assert leftovers(tmp_path, out) == ["out.csv"]


def test_a_list_in_a_category_column_of_jsonl_exits_2_naming_it(tmp_path, model_dir):
    data = write(tmp_path / "new.jsonl", '{"age": 30, "income": 1000, "color": ["red"]}\n')
    out = tmp_path / "out.csv"
    check_fails("predict", model_dir, "-d", data, "-o", out, needles=["color", "list"])
    assert leftovers(tmp_path, out) == []


def test_a_list_in_a_category_column_of_jsonl_torch_engine_exits_2(tmp_path, model_dir):
    data = write(tmp_path / "new.jsonl", '{"age": 30, "income": 1000, "color": ["red"]}\n')
    out = tmp_path / "out.csv"
    check_fails("predict", model_dir, "-d", data, "-o", out, "--engine", "torch", needles=["color"])


def test_outputs_that_are_directories_are_refused_cleanly(tmp_path, model_dir):
    """export --onnx, predict -o and init-config -o pointed at a folder: exit 2 naming it."""
    folder = tmp_path / "a_folder"
    folder.mkdir()
    data = write(tmp_path / "new.csv", "age,income,color\n31,2000,blue\n")
    check_fails("export", model_dir, "--onnx", folder, needles=["a_folder", "directory"])
    check_fails("predict", model_dir, "-d", data, "-o", folder, needles=["a_folder"])
    check_fails(
        "init-config", CHURN / "churn.csv", "--target", "churn", "-o", folder, needles=["a_folder", "directory"]
    )
    assert list(folder.iterdir()) == []
