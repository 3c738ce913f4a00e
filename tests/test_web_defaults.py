"""The web form's defaults publish statistics only of what the user chose (issue 27, items 3 and 4):
`tk export --web` reads no file named inside the model folder (training_stats.json's data source
could name any file, and its medians and name would go into the public model.onnx), and a date
field's default is the fitted median date in the column's format, never a training row."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from tests.bad_input_helpers import tk
from tests.test_web import ort_web  # noqa: F401 (a fixture)


def _site_form(site) -> dict:
    import onnx

    meta = {p.key: p.value for p in onnx.load(site / "model.onnx").metadata_props}
    return json.loads(meta["tk.web"])


def test_web_defaults_never_come_from_a_file_the_model_folder_names(churn_model, ort_web, tmp_path):  # noqa: F811
    secret = tmp_path / "secret-payroll.csv"
    secret.write_text("tenure,monthly_charges\n4242,7777\n4242,7777\n")
    model = tmp_path / "model"
    shutil.copytree(churn_model[1], model)
    stats = json.loads((model / "training_stats.json").read_text())
    stats.setdefault("data", {})["source"] = str(secret)  # what an edited folder may say
    (model / "training_stats.json").write_text(json.dumps(stats))
    manifest = json.loads((model / "manifest.json").read_text())
    data = (model / "training_stats.json").read_bytes()
    manifest["files"]["training_stats.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (model / "manifest.json").write_text(json.dumps(manifest))

    run = tk("export", model, "--web", tmp_path / "site")
    assert run.code == 0, run.stderr
    form = _site_form(tmp_path / "site")
    fields = {f["column"]: f for f in form["fields"]}
    assert form["defaults_from"] == "features.json"
    assert "secret" not in json.dumps(form) and "4242" not in json.dumps(form)
    assert fields["tenure"]["default"] == pytest.approx(
        churn_model[0].inputs[[f.config.name for f in churn_model[0].inputs].index("tenure")].fill_, rel=1e-5
    )

    run = tk("export", model, "--web", tmp_path / "site2", "--dataset", secret)  # named by the user: read
    assert run.code == 0, run.stderr
    form = _site_form(tmp_path / "site2")
    assert form["defaults_from"] == "secret-payroll.csv"
    assert {f["column"]: f for f in form["fields"]}["tenure"]["default"] == 4242
    run = tk("export", model, "--web", tmp_path / "site3", "--dataset", tmp_path / "missing.csv")
    assert run.code == 2 and "missing.csv: no such file" in run.stderr


@pytest.mark.parametrize(
    "fmt, dates",
    [
        (
            "%d/%m/%Y %H:%M:%S.%f",
            ["31/12/1999 23:59:59.5", "01/03/2024 10:00:00.0", "03/03/2024 12:00:00.0", "01/01/2030 00:00:00.0"],
        ),
        ("iso", ["1999-12-31", "2024-03-01", "2024-03-03", "2030-01-01"]),
        ("epoch", ["946684799", "1709287200", "1709460000", "1893456000"]),
    ],
)
def test_the_date_default_is_the_fitted_median_not_a_training_row(fmt, dates):
    """The first valid training date was the default before; now the median date (between the two middle
    training dates here), from fitted statistics, in the column's format."""
    import datetime as dt

    from toolkit.features.date import DateInput, DateInputConfig

    f = DateInput(DateInputConfig(name="d", type="date", preprocessing={"format": fmt}))
    column = np.array([dates[0], dates[1], dates[2], dates[1], dates[2], dates[3]], dtype=object)
    acc = f.accumulator()
    acc.update(column)
    f = acc.finish()
    default = f.form_field()["default"]
    assert default not in set(column.tolist()), default
    if fmt == "epoch":
        got = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(default))
    else:
        got = dt.datetime.strptime(default, "%Y-%m-%d" if fmt == "iso" else fmt)
    want = dt.datetime(2024, 3, 2, {"iso": 0, "epoch": 10}.get(fmt, 11))
    assert abs((got - want).total_seconds()) < 200, default  # float32 elapsed days: ~170 s apart at most
    again = DateInput.from_state(f.config, json.loads(json.dumps(f.state())))
    assert again.form_field()["default"] == default
