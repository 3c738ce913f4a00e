"""`tk export MODEL --web SITE`: the static page predicts in a real browser as Python does.

The churn model (session fixture) and a 1-epoch reviews text model are exported with the
CLI, each site is served by `python -m http.server` on 127.0.0.1, and tests/web/drive.js
(playwright-core) drives Debian's headless chromium through the page's own labelled
controls: three rows per model, the defaults, CSV uploads. Every label shown must equal
Python onnxruntime's (toolkit.runtime.predictor.Predictor) and every probability be within 1e-5.

Browser tests skip, saying what to install, without chromium (`apt-get install chromium`),
node, or playwright-core (`sh tests/web/install.sh`); exporting needs onnxruntime-web
(examples/edge/node/install.sh, or npm, see exporters/web.py).
Set TK_WEB_SCREENSHOTS=docs to write the README screenshots (docs/web-*.png).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CHURN, ROOT
from tests.web_helpers import (
    DRIVER,
    assert_csv_matches_python,
    assert_matches_python,
    assert_usable,
    drive,
    export_site,
    screenshots,
)

REVIEWS = ROOT / "examples" / "reviews"


# ---- what the browser tests need ------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> dict:
    """node + playwright-core + chromium, or a skip naming what to install."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: install Node.js ≥ 18 to run the browser tests of tk export --web")
    if not (DRIVER.parent / "node_modules" / "playwright-core" / "package.json").exists():
        pytest.skip("playwright-core not installed: run `sh tests/web/install.sh` (npm ci in tests/web)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not found: `apt-get install chromium` (Debian) to run the browser tests")
    return {"node": node, "chromium": chromium}


@pytest.fixture(scope="session")
def ort_web():
    from exporters import web
    from toolkit.errors import TkError

    try:
        return web.find_ort_web()
    except TkError as e:
        pytest.skip(f"onnxruntime-web unavailable: {e} (or run `sh examples/edge/node/install.sh`)")


# ---- churn: binary, number and category fields ----------------------------------------------


@pytest.fixture(scope="module")
def churn_site(churn_model, ort_web, tmp_path_factory) -> Path:
    return export_site(churn_model[1], tmp_path_factory.mktemp("web") / "churn-site", "--dataset", CHURN / "churn.csv")


def test_site_model_is_the_model_plus_form_metadata(churn_model, churn_site):
    import onnx
    import pandas as pd

    from exporters.web import ORT_FILES, PAGE_FILES

    original, site = onnx.load(churn_model[1] / "model.onnx"), onnx.load(churn_site / "model.onnx")
    assert original.graph == site.graph
    meta = {p.key: p.value for p in site.metadata_props}
    assert {p.key: p.value for p in original.metadata_props}.items() <= meta.items()
    form = json.loads(meta["tk.web"])
    fields = {f["column"]: f for f in form["fields"]}
    assert list(fields) == [i["name"] for i in json.loads(meta["tk.inputs"])]
    train = pd.read_csv(CHURN / "churn.csv").query("split == 'train'")
    everything = pd.read_csv(CHURN / "churn.csv")
    assert fields["tenure"]["type"] == "number" and fields["tenure"]["default"] == everything["tenure"].median()
    assert fields["contract"]["default"] == train["contract"].mode()[0]
    assert fields["contract"]["choices"][0] == fields["contract"]["default"]
    assert sorted(fields["contract"]["choices"]) == sorted(train["contract"].unique())
    assert fields["partner"]["type"] == "binary" and fields["partner"]["labels"] == ["0", "1"]
    assert fields["phone_service"]["default"] == str(train["phone_service"].mode()[0])
    assert form["defaults_from"] == "churn.csv"  # a file name, never a local path
    for name in (*PAGE_FILES, *(f"ort/{n}" for n in ORT_FILES)):
        assert (churn_site / name).is_file(), name
    assert "onnxruntime-web 1.30.0" in (churn_site / "ort" / "VERSION").read_text()


def test_churn_page_predicts_like_python(browser, churn_site, tmp_path):
    from toolkit.runtime.predictor import Predictor

    with open(CHURN / "sample.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:3]
    rows[2]["total_charges"] = ""  # blank number field → missing (NaN), imputed by the graph
    upload = tmp_path / "upload.csv"
    frame = __import__("pandas").read_csv(CHURN / "churn.csv", dtype=str, keep_default_na=False)
    frame = frame[frame["split"] == "validation"].head(40).drop(columns=["churn", "split"])
    frame.iloc[0, frame.columns.get_loc("payment_method")] = 'Mailed "paper" check,\nby post'  # quotes, comma, newline
    frame.iloc[1, frame.columns.get_loc("payment_method")] = '=HYPERLINK("http://x.invalid","click")'  # a formula
    frame.to_csv(upload, index=False)
    bad = tmp_path / "bad.csv"
    frame.drop(columns=["tenure"]).head(3).to_csv(bad, index=False)

    out = drive(
        browser,
        churn_site,
        tmp_path,
        rows=rows,
        csv=[str(upload), str(bad)],
        screenshots=screenshots(tmp_path, "churn"),
    )
    predictor = Predictor(churn_site / "model.onnx")
    assert_matches_python(predictor, out["defaults"]["values"], out["defaults"]["results"], "defaults")
    for i, (row, shown) in enumerate(zip(rows, out["rows"])):
        assert shown["values"] == row, f"row {i}: the form holds {shown['values']}"
        assert_matches_python(predictor, row, shown["results"], f"row {i}")
    labels = {r["results"]["churn"]["label"] for r in out["rows"]}
    assert labels <= {"No", "Yes"}

    good, missing = out["csv"]
    assert good["state"] == "done", good["status"]
    assert_csv_matches_python(predictor, upload, good["text"], "csv upload")
    assert missing["state"] == "error" and "missing column: tenure" in missing["status"], missing["status"]
    assert_usable(out)


# ---- churn as a GBM + network ensemble: the trees (ai.onnx.ml 5) in onnxruntime-web ------------


@pytest.fixture(scope="module")
def churn_ensemble_site(ort_web, tmp_path_factory) -> Path:
    """examples/churn with model_type ensemble (network + LightGBM averaged in the graph), 3 epochs."""
    import yaml

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    config = yaml.safe_load((CHURN / "config.yaml").read_text())
    config["trainer"] |= {"epochs": 3}
    config |= {"model_type": "ensemble", "gbm": {"num_trees": 40, "threads": 1}}
    out = tmp_path_factory.mktemp("runs") / "churn-ensemble"
    train(config, dataset=CHURN / "churn.csv", output=out)
    return export_site(out, tmp_path_factory.mktemp("web") / "churn-ensemble-site")


def test_gbm_ensemble_page_predicts_like_python(browser, churn_ensemble_site, tmp_path):
    from toolkit.runtime.predictor import Predictor

    with open(CHURN / "sample.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:3]
    rows[1]["total_charges"] = ""  # missing: the network imputes it, the trees route NaN their own way
    out = drive(browser, churn_ensemble_site, tmp_path, rows=rows)
    predictor = Predictor(churn_ensemble_site / "model.onnx")
    assert_matches_python(predictor, out["defaults"]["values"], out["defaults"]["results"], "defaults")
    for i, (row, shown) in enumerate(zip(rows, out["rows"])):
        assert shown["values"] == row, f"row {i}: the form holds {shown['values']}"
        assert_matches_python(predictor, row, shown["results"], f"row {i}")


# ---- a date field: a date picker; the value goes to the model in the column's own format --------


@pytest.fixture(scope="module")
def dates_site(ort_web, tmp_path_factory) -> Path:
    import numpy as np
    import pandas as pd

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, 600), unit="D")
    frame = pd.DataFrame({"when": days.strftime("%d/%m/%Y"), "x": rng.normal(size=600)})
    frame["y"] = np.sin(days.month.to_numpy() / 12 * 2 * np.pi) * 3 + frame["x"] + rng.normal(0, 0.1, 600)
    config = {
        "input_features": [
            {"name": "when", "type": "date", "preprocessing": {"format": "%d/%m/%Y"}},
            {"name": "x", "type": "number"},
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 3},
    }
    out = tmp_path_factory.mktemp("runs") / "dates"
    train(config, dataset=frame, output=out)
    return export_site(out, tmp_path_factory.mktemp("web") / "dates-site")


def test_date_picker_writes_the_column_format_and_predicts_like_python(browser, dates_site, tmp_path):
    from toolkit.runtime.predictor import Predictor

    rows = [{"when": "2024-03-05", "x": "1.5"}, {"when": "2021-12-31", "x": "-0.25"}]
    out = drive(browser, dates_site, tmp_path, rows=rows)
    predictor = Predictor(dates_site / "model.onnx")
    assert [r["values"]["when"] for r in out["rows"]] == ["05/03/2024", "31/12/2021"]
    for i, shown in enumerate(out["rows"]):
        assert_matches_python(predictor, shown["values"], shown["results"], f"row {i}")
    assert_matches_python(predictor, out["defaults"]["values"], out["defaults"]["results"], "defaults")


# ---- reviews: a text field ------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviews_site(ort_web, tmp_path_factory) -> Path:
    """examples/reviews trained for 1 epoch (the page, not the accuracy, is under test)."""
    import yaml

    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    config = yaml.safe_load((REVIEWS / "config.yaml").read_text())
    config["trainer"] |= {"epochs": 1}
    out = tmp_path_factory.mktemp("runs") / "reviews"
    train(config, dataset=REVIEWS / "reviews.csv", output=out)
    return export_site(out, tmp_path_factory.mktemp("web") / "reviews-site")


def test_reviews_page_predicts_like_python(browser, reviews_site, tmp_path):
    import pandas as pd

    from toolkit.runtime.predictor import Predictor

    data = pd.read_csv(REVIEWS / "reviews.csv", dtype=str, keep_default_na=False)
    validation = data[data["split"] == "validation"]
    rows = [
        {"review": validation["review"].iloc[0]},
        {"review": 'Ünïcödé "quoted", 日本語 😀 <br />best tea EVER!!!\nsecond line'},
        {"review": ""},
    ]
    upload = tmp_path / "reviews.csv"
    validation.head(30).to_csv(upload, index=False)  # real reviews: quoted fields with commas and ""

    out = drive(
        browser, reviews_site, tmp_path, rows=rows, csv=[str(upload)], screenshots=screenshots(tmp_path, "reviews")
    )
    predictor = Predictor(reviews_site / "model.onnx")
    for i, (row, shown) in enumerate(zip(rows, out["rows"])):
        assert shown["values"] == row, f"row {i}: the form holds {shown['values']}"
        assert_matches_python(predictor, row, shown["results"], f"row {i}")
    assert out["csv"][0]["state"] == "done", out["csv"][0]["status"]
    assert_csv_matches_python(predictor, upload, out["csv"][0]["text"], "reviews csv upload")
    assert_usable(out)


# ---- sets (tag input), a 3-class category and a number output, defaults without the data file --


def pizza_frame(n: int = 300):
    import pandas as pd

    rng = np.random.default_rng(7)
    toppings = ["cheese", "ham", "olive", "pepper", "mushroom"]
    rows = []
    for i in range(n):
        chosen = [t for t in toppings if rng.random() < 0.4]
        size = float(rng.integers(20, 40))
        kind = "meat" if "ham" in chosen else "veggie" if len(chosen) >= 2 else "plain"
        rows.append(
            {
                "toppings": ", ".join(chosen),
                "size": size,
                "kind": kind,
                "price": 5 + 0.2 * size + len(chosen),
                "split": ["train", "validation", "test"][i % 3 // 2],
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def pizza_site(ort_web, tmp_path_factory) -> Path:
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    cfg = {
        "input_features": [{"name": "toppings", "type": "set"}, {"name": "size", "type": "number"}],
        "output_features": [{"name": "kind", "type": "category"}, {"name": "price", "type": "number"}],
        "preprocessing": {"split": {"type": "fixed", "column": "split"}},
        "trainer": {"epochs": 3, "batch_size": 32},
    }
    out = tmp_path_factory.mktemp("runs") / "pizza"
    train(cfg, pizza_frame(), output=out)  # a DataFrame: no data file, defaults from features.json
    return export_site(out, tmp_path_factory.mktemp("web") / "pizza-site")


def test_set_field_and_number_output_predict_like_python(browser, pizza_site, tmp_path):
    from toolkit.runtime.predictor import Predictor

    rows = [
        {"toppings": "ham,olive", "size": "31"},
        {"toppings": "", "size": ""},
        {"toppings": "mushroom,anchovy,pepper", "size": "55.5"},
    ]  # an unseen member; beyond the range
    out = drive(browser, pizza_site, tmp_path, rows=rows, screenshots=screenshots(tmp_path, "pizza", readme=False))
    predictor = Predictor(pizza_site / "model.onnx")
    fields = {f["column"]: f for f in predictor.metadata["tk.web"]["fields"]}
    assert fields["toppings"]["type"] == "set" and set(fields["toppings"]["members"]) >= {"ham", "olive"}
    assert predictor.metadata["tk.web"]["defaults_from"] == "features.json"
    assert_matches_python(predictor, out["defaults"]["values"], out["defaults"]["results"], "defaults")
    for i, (row, shown) in enumerate(zip(rows, out["rows"])):
        assert shown["values"] == row, f"row {i}: the form holds {shown['values']}"
        assert_matches_python(predictor, row, shown["results"], f"row {i}")
        assert len(shown["results"]["kind"]["probabilities"]) == 3
        assert shown["results"]["price"]["value"] is not None
    assert_usable(out)
