"""Why this prediction: attributions inside model.onnx (toolkit.export.explain) and where users meet them.

The promise held here: per row and output, the attributions add up to the row's score minus the
baseline score in the file's metadata (log-odds of the probability given for a binary output, the
value for a number output, the top class's logit for a category output). The Shapley weights are
checked against brute force; every input type (text, set, date, vector, series) runs through a
saved model (whose save runs the parity check, edge rows included); an older file without the
explain branch is refused in one line naming the command that adds it, and that command works.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations
from math import factorial

import numpy as np
import onnx
import pandas as pd
import pytest

from tests.conftest import CHURN, ROOT
from toolkit import load, train
from toolkit.common import log
from toolkit.errors import TkError
from toolkit.export import explain
from toolkit.runtime.predictor import Predictor


def shapley_brute_force(v, players: int) -> np.ndarray:
    phi = np.zeros(players)
    for j in range(players):
        others = [i for i in range(players) if i != j]
        for size in range(players):
            w = factorial(size) * factorial(players - size - 1) / factorial(players)
            for s in combinations(others, size):
                phi[j] += w * (v(set(s) | {j}) - v(set(s)))
    return phi


@pytest.mark.parametrize("players,backgrounds", [(1, 1), (3, 2), (4, 1)])
def test_the_exact_plan_gives_the_shapley_values_of_the_background_game(players, backgrounds):
    rng = np.random.default_rng(players)
    table = rng.normal(size=(backgrounds, 2**players))  # any game: v_k(S) per background row k …
    table[:, -1] = table[0, -1]  # … where the whole row reads no background: f(x)
    p = explain.plan(players, backgrounds)
    assert p.method == "exact"
    code = lambda s: sum(1 << i for i in s)  # noqa: E731
    scores = np.array([table[k, code(np.flatnonzero(m))] for m, k in zip(p.masks, p.background)])
    want = np.mean([shapley_brute_force(lambda s: table[k, code(s)], players) for k in range(backgrounds)], axis=0)
    np.testing.assert_allclose(scores @ p.weights, want, atol=1e-6)


def test_sampled_permutations_are_efficient_and_unbiased_on_an_additive_game():
    """Many players: permutations. Each one telescopes, so the sum is exact; an additive game's values are
    exact too (each player's step is its own term whatever the order)."""
    players, backgrounds = 20, 4
    p = explain.plan(players, backgrounds)
    assert p.method == "permutations" and p.evaluations <= explain.BUDGET + 8 and p.permutations % 2 == 0
    rng = np.random.default_rng(0)
    x, b = rng.normal(size=players), rng.normal(size=(backgrounds, players))
    scores = np.array([np.where(m, x, b[k]).sum() for m, k in zip(p.masks, p.background)])
    used = sorted(set(p.background[~p.masks.any(axis=1)]))
    np.testing.assert_allclose(scores @ p.weights, x - b[used].mean(axis=0), atol=1e-5)


def test_a_binary_models_attributions_add_up_to_its_log_odds_minus_the_baseline(churn_model):
    model, path = churn_model
    df = pd.read_csv(CHURN / "churn.csv").head(40)
    p = Predictor(path)
    why, probs = p.explain(df), p.predict(df)["churn::probability::Yes"].to_numpy(np.float64)
    meta = p.metadata["tk.explain"]
    assert list(why.columns) == [f"churn::why::{f.name}" for f in model.config.input_features]
    assert meta["background"] == "rows" and meta["method"] == "permutations"
    log_odds = np.log(probs / (1 - probs))
    np.testing.assert_allclose(why.to_numpy().sum(axis=1), log_odds - meta["baseline"]["churn"], atol=2e-4)
    records = p.explain(df.head(2).to_dict("records"))
    assert records[0]["churn"]["tenure"] == pytest.approx(why["churn::why::tenure"].iloc[0], abs=1e-6)
    assert p.explain(df.head(0)).shape == (0, len(why.columns))
    # a plain run computes none of it: the branch's outputs are empty unless tk::explain is fed
    raw = p.session.run(None, p._feed(p._columns(df.head(3))[0]))  # the file as it is: its switch off
    assert [a.shape for a in raw[-1:]] == [(0, len(why.columns))]


def mixed_frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    words = np.array(["good", "bad", "fine", "awful", "ok"])
    x = rng.normal(size=n)
    text = [" ".join(rng.choice(words, size=3)) for _ in range(n)]
    tags = [" ".join(rng.choice(["a", "b", "c"], size=rng.integers(0, 3), replace=False)) for _ in range(n)]
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
    vec = rng.normal(size=(n, 3))
    y = 3 * x + np.array(["good" in t for t in text]) * 2 + vec[:, 0] + np.array(["a" in t for t in tags])
    return pd.DataFrame(
        {
            "x": x,
            "kind": rng.choice(["p", "q"], size=n),
            "review": text,
            "tags": tags,
            "day": dates.strftime("%Y-%m-%d"),
            "v": [" ".join(f"{a:.3f}" for a in r) for r in vec],
            "s": [" ".join(f"{a:.3f}" for a in r[::-1]) for r in vec],
            "y": y * 100 + 50,
        }
    )


def test_every_input_type_is_one_player_and_a_number_output_is_explained_in_its_units(tmp_path):
    log.quiet = True
    cfg = {
        "input_features": [
            {"name": "x", "type": "number"},
            {"name": "kind", "type": "category"},
            {"name": "review", "type": "text"},
            {"name": "tags", "type": "set"},
            {"name": "day", "type": "date"},
            {"name": "v", "type": "vector"},
            {"name": "s", "type": "timeseries"},
        ],
        "output_features": [{"name": "y", "type": "number"}],
        "trainer": {"epochs": 2, "batch_size": 64},
    }
    df = mixed_frame()
    model = train(cfg, df, output=tmp_path / "m")  # the save checks the explain branch's parity
    why = model.explain(df.head(20))
    meta = model.predictor.metadata["tk.explain"]
    assert meta["players"] == ["x", "kind", "review", "tags", "day", "v", "s"]
    assert meta["method"] == "exact" or meta["permutations"] >= 2
    value = model.predict(df.head(20))["y::value"].to_numpy(np.float64)
    np.testing.assert_allclose(why.to_numpy().sum(axis=1), value - meta["baseline"]["y"], rtol=1e-4, atol=1e-2)
    assert why["y::why::x"].abs().mean() > why["y::why::kind"].abs().mean()  # y is driven by x, not by kind


def strip_explanations(data: bytes) -> bytes:
    """model.onnx as an older tk wrote it: no If branch, no tk::explain input, no attribution outputs."""
    proto = onnx.load_from_string(data)
    g = proto.graph
    keep = [n for n in g.node if n.op_type != "If"]
    del g.node[:]
    g.node.extend(keep)
    for field in (g.output, g.input, g.initializer):
        kept = [
            v
            for v in field
            if "::attributions" not in v.name
            and "::class_attributions" not in v.name
            and v.name != "tk::explain"
            and not v.name.startswith("explain/")
        ]
        del field[:]
        field.extend(kept)
    kept = [m for m in proto.metadata_props if m.key != "tk.explain"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    return proto.SerializeToString()


def test_an_older_model_file_is_refused_in_one_line_and_rebuild_adds_explanations(churn_model, tmp_path):
    from toolkit.runtime import model_dir

    model, path = churn_model
    old = tmp_path / "old"
    names = json.loads((path / "manifest.json").read_text())["files"]
    files = {n: (path / n).read_bytes() for n in names if n != "explain.json"}
    files["model.onnx"] = strip_explanations(files["model.onnx"])
    model_dir.write_model_dir(old, files)
    with pytest.raises(TkError, match=r"no explanations .*: tk export MODEL_DIR --rebuild$"):
        Predictor(old).explain([{}])
    data = tmp_path / "rows.csv"
    pd.read_csv(CHURN / "churn.csv").head(30).to_csv(data, index=False)
    tk = [sys.executable, "-m", "toolkit.cli.main"]
    proc = subprocess.run(
        tk + ["predict", str(old), "-d", str(data), "--explain"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 2 and proc.stderr.strip().endswith(f"tk export {old} --rebuild")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run(
        tk + ["export", str(old), "--rebuild", "-d", str(data)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "why.csv"
    proc = subprocess.run(
        tk + ["predict", str(old), "-d", str(data), "--explain", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    assert {"churn::label", "churn::why::tenure", "churn::why::contract"} <= set(table.columns) and len(table) == 30
    assert load(old).explain_columns is not None  # the rows given to --rebuild became its background


def test_each_class_on_request_adds_up_to_its_logit_minus_its_baseline(penguins_model):
    """A category output: the top class's attributions by default; every class's with classes=True, each
    adding up to that class's logit (the training path's raw output) minus its baseline."""
    import torch

    from tests.conftest import PENGUINS
    from toolkit.training.batches import predict_raw

    model, _ = penguins_model
    df = pd.read_csv(PENGUINS / "penguins.csv").head(12)
    why = model.explain(df, classes=True)
    meta = model.predictor.metadata["tk.explain"]
    classes, players = model.outputs[0].classes, meta["players"]
    from toolkit.features import columns as prepare

    pre = model.preprocessor.transform(prepare.input_columns(model.inputs, df, "penguins.csv"))
    raw = predict_raw(model.model, [torch.from_numpy(np.ascontiguousarray(pre[f.config.name])) for f in model.inputs])[
        0
    ]
    raw = np.asarray(raw, np.float64)
    for k, c in enumerate(classes):
        per_class = why[[f"species::why::{c}::{p}" for p in players]].to_numpy(np.float64)
        np.testing.assert_allclose(per_class.sum(axis=1), raw[:, k] - meta["baseline"]["species"][k], atol=1e-4)
    top = np.argmax(raw, axis=1)
    for i, k in enumerate(top):
        np.testing.assert_allclose(
            why.loc[i, [f"species::why::{p}" for p in players]].to_numpy(np.float64),
            why.loc[i, [f"species::why::{classes[k]}::{p}" for p in players]].to_numpy(np.float64),
        )
