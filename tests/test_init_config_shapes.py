"""`tk init-config` on strings with a shape (toolkit.config.guess_shapes): dates and their format, lists of
numbers as vectors or time series, and a generated config with all three that trains."""

from __future__ import annotations

import pytest
import yaml

from tests.init_config_helpers import types, write_csv
from toolkit.config import guess as infer
from toolkit.config.schema import validate_config


@pytest.mark.parametrize(
    "values, yaml_type",
    [
        ([f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(60)], "date"),
        ([f"2024-01-{i % 28 + 1:02d}" + ("T10:20:30" if i % 2 else "") for i in range(60)], "date"),
        (
            [f"{i % 28 + 1:02d}/{i % 12 + 1:02d}/2023 {i % 24:02d}:{i % 60:02d}" for i in range(60)],
            'date, preprocessing: {format: "%d/%m/%Y %H:%M"}',
        ),
        ([f"{i % 12 + 1}/{i % 28 + 1}/2023" for i in range(60)], 'date, preprocessing: {format: "%m/%d/%Y"}'),
        ([f"{i % 28 + 1}.{i % 12 + 1}.2023" for i in range(60)], 'date, preprocessing: {format: "%d.%m.%Y"}'),
        ([" ".join(str(i * j) for j in range(4)) for i in range(60)], "vector, preprocessing: {size: 4}"),
        (
            [",".join(str(j) for j in range(i % 5 + 1)) for i in range(60)],
            'timeseries, preprocessing: {max_length: 5, delimiter: ","}',
        ),
        (["0.5|1|2.5", "1|2|3", "-1e3|0|.5"], 'vector, preprocessing: {size: 3, delimiter: "|"}'),
    ],
)
def test_dates_and_lists_of_numbers_get_their_types(tmp_path, values, yaml_type):
    rows = [{"col": values[i % len(values)], "x": i % 7, "y": i % 2} for i in range(60)]
    text = infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"])
    assert f"  - {{name: col, type: {yaml_type}}}" in text, text
    validate_config(yaml.safe_load(text))


def test_day_and_month_that_both_read_are_noted(tmp_path):
    rows = [{"col": f"{i % 12 + 1:02d}/{i % 12 + 1:02d}/2023", "y": i % 2} for i in range(60)]
    text = infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"])
    assert 'type: date, preprocessing: {format: "%d/%m/%Y"}}  # day and month both read as' in text


@pytest.mark.parametrize(
    "name, values, expected",
    [
        ("created_at", [str(1_700_000_000 + 3600 * i) for i in range(60)], "date"),  # seconds since 1970
        ("amount", [str(1_700_000_000 + 3600 * i) for i in range(60)], None),  # not named like a time: an id
        ("zone", [f"2024-01-{i % 28 + 1:02d}T10:00:00+02:00" for i in range(60)], None),  # a time zone: skipped
        ("th", ["1,234", "2,500", "12,000,000", "7,100"], "category"),  # thousands, not lists
        ("dec", ["3,5", "2,25", "10,0", "7,5"], "category"),  # decimal commas, not vectors
        ("words", ["12 apples", "3 pears", "1 fig"], "category"),
    ],
)
def test_what_is_not_a_date_or_a_list(tmp_path, name, values, expected):
    rows = [{name: values[i % len(values)], "x": i % 7, "y": i % 2} for i in range(60)]
    inputs, _, cfg = types(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"]))
    assert inputs.get(name) == expected
    validate_config(cfg)


def test_iso_formats_agree_with_the_date_parser():
    from toolkit.config import guess_shapes as infer_shapes
    from toolkit.data.number_lists import MAX_LENGTH, NUMBER
    from toolkit.features.date_parse import ISO_FORMATS

    assert infer_shapes.ISO_FORMATS == ISO_FORMATS and infer_shapes.MAX_LIST_LENGTH == MAX_LENGTH
    assert infer_shapes._LIST_NUMBER.pattern == NUMBER


def test_generated_config_with_a_date_a_vector_and_a_series_trains(tmp_path):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    rows = [
        {
            "day": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "v": f"{i % 5} {i % 3} 1",
            "s": " ".join(str(j) for j in range(i % 6 + 1)),
            "y": "yes" if (i % 12) >= 6 else "no",
        }
        for i in range(200)
    ]
    path = tmp_path / "c.yaml"
    path.write_text(infer.config_yaml(write_csv(tmp_path / "d.csv", rows), ["y"], relative_to=tmp_path))
    inputs, _, cfg = types(path.read_text())
    assert inputs == {"day": "date", "v": "vector", "s": "timeseries"}
    cfg["trainer"] = {"epochs": 3}
    model = train(cfg, str(tmp_path / "d.csv"), output=tmp_path / "m")
    assert (tmp_path / "m" / "model.onnx").exists() and model.stats["metrics"]["validation"]
