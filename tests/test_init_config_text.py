"""`tk init-config` on text and sets: the reviews example's text column (and the config that trains),
delimited vocabularies read as sets, and commas that do not make a set.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.init_config_helpers import REVIEWS, tk, types, write_csv
from toolkit.config import guess as infer
from toolkit.config.schema import validate_config

# ---- text and sets -------------------------------------------------------------


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
