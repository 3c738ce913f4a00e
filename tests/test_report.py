"""`tk report`: PNGs and one self-contained HTML page, headless.

The churn session model is reported on 500 rows of its test split by the real
CLI in a subprocess with no DISPLAY and no MPLBACKEND; its PNGs are checked
(PNG signature, IHDR width/height, size) and the metrics in the page against
`tk evaluate --json` on the same file. A second, briefly trained churn model
gives compare mode; a tiny diamonds model (price: number, cut: category)
gives the regression plots of a multi-output model; a constructed dataset
where only x1 decides the label checks that permutation importance (through
model.onnx) ranks x1 first. Plots along a date input: tests/test_report_dates.py;
the helpers (PNG checks, the page's metrics): tests/report_helpers.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import CHURN, ROOT
from tests.report_helpers import check_png, evaluate_json, page_metrics, runner, shown_values
from toolkit.cli.main import app

DIAMONDS = ROOT / "examples" / "diamonds"
CLASSIFICATION_PNGS = ["confusion", "roc", "precision_recall", "calibration", "probabilities", "importance"]


@pytest.fixture(scope="module")
def churn_test_csv(tmp_path_factory):
    df = pd.read_csv(CHURN / "churn.csv")
    path = tmp_path_factory.mktemp("data") / "churn_test.csv"
    df[df["split"] == "test"].head(500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def churn_report(churn_model, churn_test_csv, tmp_path_factory):
    """`tk report` run as a user runs it, in a process with no display: the output folder."""
    out = tmp_path_factory.mktemp("report") / "churn"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.cli.main",
            "report",
            str(churn_model[1]),
            "--dataset",
            str(churn_test_csv),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out


def test_each_plot_is_a_real_png(churn_report):
    expected = ["learning_curves.png", "churn_attributions.png"] + [f"churn_{k}.png" for k in CLASSIFICATION_PNGS]
    for name in expected:
        check_png(churn_report / name)
    assert sorted(p.name for p in churn_report.glob("*.png")) == sorted(expected)
    html = (churn_report / "report.html").read_text()
    assert "Permutation importance and mean |attribution|" in html and "<th>mean |attribution|</th>" in html


def test_html_metrics_equal_tk_evaluate_json(churn_report, churn_model, churn_test_csv):
    html = (churn_report / "report.html").read_text()
    expected = evaluate_json(churn_model[1], churn_test_csv)
    got = page_metrics(html)
    assert list(got["models"]) == ["churn"]
    assert got["models"]["churn"]["metrics"] == expected  # exact floats, through JSON both ways
    shown = shown_values(html)
    for name, value in expected["churn"].items():
        assert repr(value) in shown, name  # each metric is a cell holding the exact value …
        assert f"{value:.4f}" in html  # … shown with 4 decimals


def test_html_is_self_contained(churn_report):
    html = (churn_report / "report.html").read_text()
    pngs = list(churn_report.glob("*.png"))
    assert html.count('src="data:image/png;base64,') == len(pngs)
    assert not re.search(r'(src|href)="(https?:)?//', html), "a link to the network"
    assert "<script src" not in html and "<link" not in html
    for needle in (
        "contract",
        "monthly_charges",
        "float32",
        "churn::probabilities",
        "validation_metric: churn.loss",
        "Class balance: churn",
        "Missing values per column",
    ):
        assert needle in html, needle


def test_text_is_escaped(churn_model, tmp_path):
    """A class name or value with markup ends up as text, not as markup."""
    from toolkit.report import html

    assert html._td("<b>&x") == "<td>&lt;b&gt;&amp;x</td>"
    table = html.metrics_table(["<a>"], [{"<out>": {"acc": 0.5}}])
    assert "<out>" not in table and "&lt;out&gt;" in table


def test_compare_two_models(churn_model, churn_test_csv, tmp_path):
    from toolkit import train
    from toolkit.common import log
    from toolkit.report.build import report

    log.quiet = True
    cfg = yaml.safe_load((CHURN / "config.yaml").read_text())
    cfg["dataset"] = str(CHURN / "churn.csv")
    cfg["trainer"] |= {"epochs": 3}
    short = tmp_path / "churn_3_epochs"
    train(cfg, output=short)
    out = tmp_path / "compare"
    report([churn_model[1], short], churn_test_csv, out, importance_repeats=2)
    check_png(out / "compare_learning_curves.png")
    check_png(out / "compare_churn_roc.png")
    for label in ("churn", "churn_3_epochs"):
        check_png(out / label / "learning_curves.png")
        check_png(out / label / "churn_roc.png")
    html = (out / "report.html").read_text()
    got = page_metrics(html)["models"]
    assert list(got) == ["churn", "churn_3_epochs"]
    assert got["churn_3_epochs"]["metrics"] == evaluate_json(short, churn_test_csv)
    assert got["churn"]["metrics"] == evaluate_json(churn_model[1], churn_test_csv)
    table = html[html.index("Models compared") : html.index("compare_learning_curves")]
    assert "<th>churn</th><th>churn_3_epochs</th>" in table
    for value in list(got["churn"]["metrics"]["churn"].values()) + list(
        got["churn_3_epochs"]["metrics"]["churn"].values()
    ):
        assert f'data-value="{value!r}"' in table  # both models' numbers side by side


def test_multi_output_regression_and_category(tmp_path):
    """examples/diamonds on 1,500 rows, 3 epochs: price gets regression plots, cut classification ones."""
    from toolkit import train
    from toolkit.common import log
    from toolkit.report.build import report

    log.quiet = True
    df = pd.read_csv(DIAMONDS / "diamonds.csv").sample(n=1_500, random_state=0)
    cfg = yaml.safe_load((DIAMONDS / "config.yaml").read_text())
    cfg["dataset"] = None
    cfg["trainer"] |= {"epochs": 3}
    model_dir = tmp_path / "diamonds"
    train(cfg, df, output=model_dir)
    data = tmp_path / "rows.csv"
    df.tail(300).to_csv(data, index=False)
    out = tmp_path / "report"
    report([model_dir], data, out)
    for name in ["learning_curves", "price_predicted_vs_actual", "price_residuals", "price_importance"] + [
        f"cut_{k}" for k in CLASSIFICATION_PNGS
    ]:
        check_png(out / f"{name}.png")
    assert not (out / "price_roc.png").exists()
    got = page_metrics((out / "report.html").read_text())["models"]["diamonds"]["metrics"]
    assert got == evaluate_json(model_dir, data)
    assert set(got) == {"price", "cut"}


def test_permutation_importance_ranks_the_deciding_feature_first(tmp_path):
    """y = (x1 > 0); x2, x3 and a colour are noise. Shuffling x1 must cost the most ROC AUC."""
    from toolkit import api, train
    from toolkit.common import log
    from toolkit.report import data, importance

    log.quiet = True
    rng = np.random.default_rng(3)
    n = 1_200
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "x3": rng.uniform(-1, 1, n),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    df["label"] = np.where(df["x1"] > 0, "yes", "no")
    cfg = {
        "input_features": [
            {"name": "x1", "type": "number"},
            {"name": "x2", "type": "number"},
            {"name": "x3", "type": "number"},
            {"name": "colour", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "binary"}],
        "trainer": {"epochs": 8, "batch_size": 64},
    }
    train(cfg, df, output=tmp_path / "m")
    model = api.load(tmp_path / "m")
    run = data.gather(model, tmp_path / "m", "m", df, "constructed")
    (imp,) = importance.permutation_importance(run, df, repeats=5)
    assert imp.metric == "roc_auc" and imp.baseline > 0.95, imp.baseline
    assert imp.columns[0] == "x1", list(zip(imp.columns, imp.mean))
    assert imp.low[0] > imp.high[1], "x1's interval overlaps the next column's"
    assert imp.mean[0] > 0.3
    assert np.all(np.abs(imp.mean[1:]) < 0.05), list(zip(imp.columns, imp.mean))
    assert imp.drops.shape == (4, 5)
    (att,) = importance.attribution_importance(run, df, max_rows=200)  # beside it: mean |attribution|
    assert att.names[0] == "x1" and att.mean_abs[0] > 3 * att.mean_abs[1] and att.rows == 200


@pytest.mark.parametrize("case", ["no_model", "no_dataset", "no_target", "output_is_file"])
def test_bad_input_is_one_line(case, churn_model, churn_test_csv, tmp_path):
    args = ["report", str(churn_model[1]), "--dataset", str(churn_test_csv), "--output", str(tmp_path / "r")]
    needle = ""
    if case == "no_model":
        args[1], needle = str(tmp_path / "nope"), "nope: no such model directory"
    elif case == "no_dataset":
        args, needle = args[:2] + args[4:], "--dataset is required"
    elif case == "no_target":
        data = tmp_path / "unlabelled.csv"
        pd.read_csv(churn_test_csv).drop(columns=["churn"]).head(20).to_csv(data, index=False)
        args[3], needle = str(data), "'churn'"
    else:
        (tmp_path / "r").write_text("not a folder")
        needle = "exists and is a file"
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), result.stderr
    assert needle in errors[0], errors[0]
    assert "Traceback" not in result.output


def test_train_summary_table(churn_model, capsys, monkeypatch):
    from toolkit.common import log
    from toolkit.report.summary import print_train_summary

    model, model_dir = churn_model
    monkeypatch.setattr(log, "quiet", False)
    print_train_summary(model, model_dir)
    text = capsys.readouterr().err
    assert f"best epoch {model.stats['best_epoch']} of" in text
    for split in ("train", "validation", "test"):
        assert split in text
    assert f"{model.stats['metrics']['test']['churn']['roc_auc']:.4f}" in text
    size = (model_dir / "model.onnx").stat().st_size / 1024
    assert f"model.onnx {size:.1f} KiB" in text
    assert re.search(r"ONNX latency, 1 row: median \d+\.\d\d ms \(50 runs\)", text), text


def test_set_output_with_text_input(tmp_path, capsys, monkeypatch):
    """A set output gets its per-label F1 bars and importance; the summary's latency row works with text."""
    from tests.test_text_set import multilabel_frame
    from toolkit import train
    from toolkit.common import log
    from toolkit.report.build import report
    from toolkit.report.summary import print_train_summary

    log.quiet = True
    df = multilabel_frame(n=400)
    cfg = {
        "input_features": [
            {"name": "heat", "type": "number"},
            {"name": "diet", "type": "category"},
            {"name": "note", "type": "text", "preprocessing": {"max_length": 8}},
        ],
        "output_features": [{"name": "tags", "type": "set"}],
        "preprocessing": {"split": {"type": "fixed", "column": "split"}},
        "trainer": {"epochs": 4, "batch_size": 32},
    }
    model = train(cfg, df, output=tmp_path / "tags")
    data = tmp_path / "rows.csv"
    df[df["split"] == "test"].to_csv(data, index=False)
    out = tmp_path / "report"
    report([tmp_path / "tags"], data, out, importance_repeats=2)
    for name in ("learning_curves", "tags_label_f1", "tags_importance"):
        check_png(out / f"{name}.png")
    html = (out / "report.html").read_text()
    assert page_metrics(html)["models"]["tags"]["metrics"] == evaluate_json(tmp_path / "tags", data)
    assert "Class balance: tags" in html
    monkeypatch.setattr(log, "quiet", False)
    print_train_summary(model, tmp_path / "tags")
    assert "ONNX latency, 1 row" in capsys.readouterr().err


def test_the_report_says_which_model_the_split_metrics_are_of_and_names_silent_classes(churn_report, churn_model):
    from toolkit.report.html import _refit_and_silent_classes

    html = (churn_report / "report.html").read_text(encoding="utf-8")
    assert "refit" in churn_model[0].stats and "then refit on train + validation" in html
    note = _refit_and_silent_classes({"never_predicted": {"churn": ["Yes"]}})
    assert 'class="warn"' in note and "<b>churn</b>" in note and "never predicted on the validation rows: Yes" in note
    assert _refit_and_silent_classes({}) == ""


def test_the_train_summary_names_the_rows_of_each_split_and_the_refit(churn_model, capsys, monkeypatch):
    from toolkit.common import log
    from toolkit.report.summary import print_train_summary

    model, model_dir = churn_model
    monkeypatch.setattr(log, "quiet", False)
    monkeypatch.setenv("COLUMNS", "250")
    print_train_summary(model, model_dir)
    text = " ".join(capsys.readouterr().err.split())
    rows = model.stats["data"]["rows_per_split"]
    assert f"validation ({rows['validation']:,} rows)" in text
    assert f"refit on train + validation ({rows['train'] + rows['validation']:,} rows)" in text
    assert f"+ refit {model.stats['refit']['seconds']:.1f} s" in text
