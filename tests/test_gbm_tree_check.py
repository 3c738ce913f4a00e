"""Hostile gbm.json (issue 27, item 2): the manifest proves the folder agrees with itself, so a tree edited
together with manifest.json must be refused by tk's own check, before LightGBM's C++ parser or the ONNX
converter reads it. Before the check these crashed the process (a child index back to the root: export
segfault, torch-engine prediction hung; split_feature 99,999,999: segfault), read past the row (one past
the width), put heap bits into model.onnx (a child index of -100000) or gave tracebacks (wrong num_leaves,
garbage values, a 5,000-deep chain). Now: one `error:` line and exit 2, or, for the deep chain within
the config's num_leaves, a parity-checked export."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.bad_input_helpers import check_fails, rows, tk, write_csv
from toolkit import train
from toolkit.common import log
from toolkit.errors import TkError
from toolkit.models.gbm.tree_check import check_layout, read_booster


@pytest.fixture(scope="module")
def gbm_dir(tmp_path_factory) -> tuple[Path, Path]:
    """A small gbm model (two numbers, a category; 8 trees of ≤ 7 leaves) and its data: (dir, csv)."""
    log.quiet = True
    root = tmp_path_factory.mktemp("gbm_check")
    data = write_csv(root / "data.csv", rows(120))
    cfg = {
        "input_features": [
            {"name": "age", "type": "number"},
            {"name": "income", "type": "number"},
            {"name": "color", "type": "category"},
        ],
        "output_features": [{"name": "label", "type": "binary"}],
        "model_type": "gbm",
        "gbm": {"num_trees": 8, "num_leaves": 7, "min_data_in_leaf": 3, "early_stop": 0, "threads": 1},
    }
    train(cfg, data, output=root / "model")
    return root / "model", data


def _spoil(model: Path, out: Path, edit, config=None) -> Path:
    """A copy of `model` with tree 0 of booster 0 edited (`edit(fields)` on its key=value lines, LightGBM's
    tree_sizes recomputed) and manifest.json rewritten to match: what an attacker with write access makes."""
    shutil.copytree(model, out)
    state = json.loads((out / "gbm.json").read_text())
    text = state["boosters"][0]["model"]
    head, rest = text.split("\nTree=0\n", 1)
    tree0, after = rest.split("\n\n\n", 1)
    fields = dict(line.split("=", 1) for line in tree0.split("\n"))
    edit(fields)
    blocks = ("Tree=0\n" + "\n".join(f"{k}={v}" for k, v in fields.items()) + "\n\n\n" + after).split("end of trees")
    trees = ["Tree=" + b for b in blocks[0].split("Tree=")[1:]]
    head = "\n".join(
        "tree_sizes=" + " ".join(str(len(t.encode())) for t in trees) if line.startswith("tree_sizes=") else line
        for line in head.split("\n")
    )
    state["boosters"][0]["model"] = head + "\n" + "".join(trees) + "end of trees" + blocks[1]
    (out / "gbm.json").write_text(json.dumps(state))
    if config:
        (out / "config.yaml").write_text(config((out / "config.yaml").read_text()))
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("gbm.json", "config.yaml"):
        data = (out / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _set(key: str, index: int, value):
    def edit(fields):
        parts = fields[key].split(" ")
        parts[index if index >= 0 else len(parts) + index] = str(value)
        fields[key] = " ".join(parts)

    return edit


def _back_to_root(fields):
    """The last internal node's left child becomes node 0: a cycle through the root."""
    _set("left_child", -1, 0)(fields)


CASES = {
    "child back to the root": (_back_to_root, r"node 0 \(the root\) is the child of another node"),
    "split_feature 99,999,999": (
        _set("split_feature", 0, 99_999_999),
        r"split_feature\[0\] = 99999999 is not a column of the 3-column matrix",
    ),
    "split_feature one past the width": (_set("split_feature", 0, 3), r"split_feature\[0\] = 3 is not a column"),
    "child -100000": (_set("left_child", 0, -100_000), r"left_child\[0\] = -100000 is not a node .* or leaf"),
    "wrong num_leaves": (
        lambda f: f.update(num_leaves=str(int(f["num_leaves"]) - 1)),
        r"split_feature has \d+ entries, expected",
    ),
    "garbage leaf value": (_set("leaf_value", 0, "abc"), r"leaf_value holds 'abc', not a number"),
    "NaN threshold": (_set("threshold", 0, "nan"), r"threshold\[0\] = nan is not a number"),
    "unknown decision_type": (_set("decision_type", 0, 64), r"decision_type\[0\] = 64"),
    "two parents": (
        lambda f: _set("right_child", 0, f["left_child"].split()[0])(f),
        r"(node|leaf) -?\d+ has \d parents, expected 1",
    ),
    "more leaves than the config allows": (lambda f: f.update(num_leaves="5001"), r"num_leaves=5001 is out of range"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_spoiled_tree_is_one_line_and_exit_2(gbm_dir, tmp_path, case):
    model, data = gbm_dir
    edit, pattern = CASES[case]
    spoiled = _spoil(model, tmp_path / "m", edit)
    check_fails(
        "export", spoiled, "--onnx", tmp_path / "x.onnx", patterns=[r"gbm\.json: booster 'label': tree 0: " + pattern]
    )
    assert not (tmp_path / "x.onnx").exists()
    if case in ("child back to the root", "split_feature 99,999,999"):  # hung / crashed before
        check_fails("predict", spoiled, "-d", data, "--engine", "torch", patterns=[pattern])


def test_a_5000_deep_chain_within_the_config_converts_without_recursion(gbm_dir, tmp_path):
    """A chain as deep as it has leaves, allowed by a num_leaves the (rewritten) config raises: the export
    converts it iteratively and its parity check against LightGBM passes."""
    model, data = gbm_dir
    n = 5001

    def chain(fields):
        for key in ("leaf_weight", "leaf_count", "internal_value", "internal_weight", "internal_count"):
            fields.pop(key, None)
        fields.update(
            num_leaves=str(n),
            num_cat="0",
            split_feature=" ".join(["0"] * (n - 1)),
            split_gain=" ".join(["1"] * (n - 1)),
            threshold=" ".join(str(20 + i / 100) for i in range(n - 1)),
            decision_type=" ".join(["2"] * (n - 1)),
            left_child=" ".join(str(~i) for i in range(n - 1)),
            right_child=" ".join([str(i + 1) for i in range(n - 2)] + [str(~(n - 1))]),
            leaf_value=" ".join(str(i / 1e4) for i in range(n)),
        )

    spoiled = _spoil(model, tmp_path / "m", chain, config=lambda c: c.replace("num_leaves: 7", f"num_leaves: {n}"))
    run = tk("export", spoiled, "--onnx", tmp_path / "x.onnx")
    assert run.code == 0, run.stderr
    check_fails(
        "export",
        _spoil(model, tmp_path / "m2", chain),
        "--onnx",
        tmp_path / "y.onnx",
        patterns=[r"num_leaves=5001 is out of range \[1, 8\)"],
    )


def test_lightgbm_reads_only_the_text_written_from_the_checked_trees(gbm_dir):
    """What LightGBM loads is written again from the checked numbers: same predictions as the file's text."""
    import lightgbm as lgb

    state = json.loads((gbm_dir[0] / "gbm.json").read_text())
    text = state["boosters"][0]["model"]
    trees = read_booster(text, width=3, n_scores=1, max_trees=8, max_leaves=7, where="t")
    x = np.random.default_rng(0).normal(size=(200, 3)) * [20, 500, 2] + [40, 1500, 1]
    x[::5, 2], x[::7, 0] = np.nan, np.nan
    again = lgb.Booster(model_str=trees.model_string())
    np.testing.assert_array_equal(
        again.predict(x, raw_score=True), lgb.Booster(model_str=text).predict(x, raw_score=True)
    )
    for bad, message in [
        ("forest\n", "does not start with 'tree'"),
        (text.replace("end of trees", "end"), "expected"),
        (text.replace("objective=binary", "objective=custom"), "objective"),
        (text.replace("max_feature_idx=2", "max_feature_idx=9"), "max_feature_idx=9"),
        (text.replace("Tree=1\n", "Tree=7\n"), "'Tree=7' where 'Tree=1'"),
        (None, "NoneType"),
    ]:
        with pytest.raises(TkError, match=message):
            read_booster(bad, width=3, n_scores=1, max_trees=8, max_leaves=7, where="t")
    with pytest.raises(TkError, match="more than 4 trees"):
        read_booster(text, width=3, n_scores=1, max_trees=4, max_leaves=7, where="t")
    layout = state["layout"]
    assert check_layout(layout, "t").n_columns == 3
    for bad in [
        [],
        [{**layout[0], "width": 2}] + layout[1:],
        [{**layout[0], "start": 1}] + layout[1:],
        [{**layout[0], "type": "text"}] + layout[1:],
        [{**layout[0], "extra": 1}] + layout[1:],
    ]:
        with pytest.raises(TkError, match="layout"):
            check_layout(bad, "t")


def test_a_layout_that_does_not_fit_the_features_is_one_line(gbm_dir, tmp_path):
    """A block made wider (starts and max_feature_idx edited to agree): the matrix of the real pre tensors
    does not fit it; one line, exit 2 (was a numpy reshape traceback)."""
    model, data = gbm_dir
    spoiled = tmp_path / "m"
    shutil.copytree(model, spoiled)
    state = json.loads((spoiled / "gbm.json").read_text())
    layout = state["layout"]
    assert layout[0]["feature"] == "age" and layout[0]["width"] == 1
    layout[0].update(rank=2, width=3)
    for i, block in enumerate(layout):
        block["start"] = sum(b["width"] for b in layout[:i])
    width = sum(b["width"] for b in layout)
    for b in state["boosters"]:
        b["model"] = b["model"].replace("max_feature_idx=2", f"max_feature_idx={width - 1}")
    (spoiled / "gbm.json").write_text(json.dumps(state))
    manifest = json.loads((spoiled / "manifest.json").read_text())
    raw = (spoiled / "gbm.json").read_bytes()
    manifest["files"]["gbm.json"] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    (spoiled / "manifest.json").write_text(json.dumps(manifest))
    pattern = r"gbm layout: block 'age' says 3 column\(s\) of rank 2, its pre tensor is \[1\] per row"
    check_fails("export", spoiled, "--onnx", tmp_path / "x.onnx", patterns=[pattern])
    check_fails("predict", spoiled, "-d", data, "--engine", "torch", patterns=[pattern])
