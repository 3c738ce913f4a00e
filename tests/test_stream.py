"""Streaming data (issue 9): chunked readers, streaming fit == in-memory fit, chunked predict.

The streaming path must give what the in-memory path gives: the same feature
state (exact for vocabularies and counts, within 1e-6 for means and quantile
edges while a column fits the reservoir), and the same predictions in the
same row order, whatever the chunk size.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tests.conftest import CHURN, ROOT
from toolkit.common import log
from toolkit.config.schema import load_config
from toolkit.data import readers
from toolkit.data import tables as data
from toolkit.features import columns as prepare
from toolkit.features import number
from toolkit.training import fitting
from toolkit.training import rows as dataset

REVIEWS = ROOT / "examples" / "reviews"
log.quiet = True


def _close(a, b, where=""):
    """Equal JSON states: strings and ints exactly, floats within 1e-6 (relative or absolute)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _parts(df, k):
    edges = np.linspace(0, len(df), k + 1).astype(int)
    return [df.iloc[a:b] for a, b in zip(edges[:-1], edges[1:])]


def _both_fits(config_path, data_path, chunk_rows):
    cfg = load_config(config_path)
    mem_in, mem_out = prepare.make_features(cfg)
    mem_summary = fitting.fit_features(cfg, readers.FrameSource(data.read_table(data_path)), mem_in, mem_out)
    st_in, st_out = prepare.make_features(cfg)
    src = readers.Source(data_path, dataset.wanted(cfg, st_in, st_out))
    summary = fitting.fit_features(cfg, src, st_in, st_out, rows=chunk_rows)
    return mem_summary, (mem_in + mem_out), summary, (st_in + st_out)


def test_streaming_fit_equals_in_memory_fit_on_churn():
    """19 inputs (binary, category, piecewise numbers with a missing value) in chunks of 500 rows."""
    mem_summary, mem, summary, streamed = _both_fits(CHURN / "config.yaml", CHURN / "churn.csv", 500)
    assert summary["rows_per_split"] == mem_summary["rows_per_split"]
    assert summary["missing_per_column"] == mem_summary["missing_per_column"]
    assert summary["missing_per_column"]["total_charges"] == 11
    for a, b in zip(mem, streamed):
        _close(a.state(), b.state(), a.config.name)


def test_streaming_fit_equals_in_memory_fit_for_text_with_bigrams():
    """Vocabulary, bigrams and idf of a text feature from the ONNX tokenizer over 700-row chunks."""
    _, mem, _, streamed = _both_fits(REVIEWS / "config.yaml", REVIEWS / "reviews.csv", 700)
    text_mem, text_st = mem[0].state(), streamed[0].state()
    assert len(text_mem["vocab"]) > 1000 and len(text_mem["bigrams"]) > 1000
    _close(text_mem, text_st, "review")
    _close(mem[1].state(), streamed[1].state(), "score")


def test_category_and_set_fit_counts_equal_fit():
    """fit_counts({value: rows}) is fit(column) for category / set / binary, lowercase and weights included."""
    from collections import Counter

    from toolkit.features.binary import BinaryInput, BinaryInputConfig, BinaryOutput, BinaryOutputConfig
    from toolkit.features.category import CategoryInput, CategoryInputConfig, CategoryOutput, CategoryOutputConfig
    from toolkit.features.set import SetInput, SetInputConfig

    rng = np.random.default_rng(0)
    words = np.array(["Red", "red", "blue", "", "Green", "a, b", "b,c ,d", "x"], dtype=object)
    col = words[rng.integers(0, len(words), 500)]
    cases = [
        (
            CategoryInput,
            CategoryInputConfig(name="c", type="category", preprocessing={"lowercase": True, "min_count": 3}),
        ),
        (CategoryOutput, CategoryOutputConfig(name="c", type="category", class_weights="balanced")),
        (SetInput, SetInputConfig(name="c", type="set", preprocessing={"lowercase": True})),
    ]
    for cls, cfg in cases:
        column = col[col != ""] if cls is CategoryOutput else col
        assert cls(cfg).fit(column).state() == cls(cfg).fit_counts(Counter(column.tolist())).state(), cls
    yes = np.array(["yes", "No", "no", "", "YES"], dtype=object)[rng.integers(0, 5, 300)]
    for cls, cfg in [
        (BinaryInput, BinaryInputConfig(name="b", type="binary")),
        (BinaryOutput, BinaryOutputConfig(name="b", type="binary", positive_class_weight="balanced")),
    ]:
        assert cls(cfg).fit(yes).state() == cls(cfg).fit_counts(Counter(yes.tolist())).state(), cls


def test_number_stats_above_the_reservoir_keep_exact_moments(monkeypatch):
    """Past RESERVOIR_SIZE values: mean, std, min, max stay exact (Chan merge); edges come from the sample."""
    from toolkit.features.number import NumberInput, NumberInputConfig

    values = np.random.default_rng(1).lognormal(size=50_000)
    exact = NumberInput(NumberInputConfig(name="x", type="number")).fit(values)
    monkeypatch.setattr(number, "RESERVOIR_SIZE", 1_000)
    streamed = NumberInput(NumberInputConfig(name="x", type="number"))
    stats = streamed.accumulator()
    for part in np.array_split(values, 37):
        stats.update(part)
    stats.finish()
    for key in ("fill", "min", "max", "shift", "scale"):
        assert math.isclose(streamed.state()[key], exact.state()[key], rel_tol=1e-9), key
    assert len(stats.reservoir) == 1_000
    edges_s, edges_e = np.array(streamed.edges_), np.array(exact.edges_)
    assert np.all(
        np.abs(
            np.interp([0.25, 0.5, 0.75], np.linspace(0, 1, len(edges_s)), edges_s)
            - np.interp([0.25, 0.5, 0.75], np.linspace(0, 1, len(edges_e)), edges_e)
        )
        < 0.15
    )


def test_hash_split_does_not_depend_on_chunks_or_ranks(tmp_path):
    """The random split is a hash of (seed, row number): same for any chunk size and for rank shares."""
    cfg = load_config(
        {
            "input_features": [{"name": "tenure", "type": "number"}],
            "output_features": [{"name": "churn", "type": "binary"}],
        }
    )
    src = readers.Source(CHURN / "churn.csv", {"tenure": "float32", "churn": "string"})

    def splits(rows, rank=0, world=1):
        out = {}
        for chunk in src.chunks(rows, rank, world):
            for r, s in zip(
                chunk.row_numbers(), dataset.split_of(chunk.frame, chunk.row_numbers(), cfg.preprocessing.split, "x")
            ):
                out[int(r)] = int(s)
        return out

    whole = splits(100_000)
    assert len(whole) == 7043
    assert splits(333) == whole
    assert splits(500, 0, 2) | splits(500, 1, 2) == whole
    assert abs(np.mean([s == 0 for s in whole.values()]) - 0.8) < 0.02  # the default ratios: 0.8 / 0.2 / 0


def test_readers_take_a_glob_and_a_directory_in_sorted_order(tmp_path):
    df = pd.read_csv(CHURN / "churn.csv")
    (tmp_path / "parts").mkdir()
    for i, part in enumerate(_parts(df, 3)):
        part.to_parquet(tmp_path / "parts" / f"p{i}.parquet", index=False, row_group_size=1000)
    for source in (str(tmp_path / "parts" / "*.parquet"), tmp_path / "parts"):
        src = readers.Source(source, {"tenure": "float32", "contract": "string"})
        frames = [c.frame for c in src.chunks(700)]
        got = pd.concat(frames, ignore_index=True)
        assert len(got) == len(df) and max(len(f) for f in frames) <= 700
        assert got["contract"].tolist() == df["contract"].tolist()
        assert readers.should_stream(source)
    assert not readers.should_stream(CHURN / "churn.csv")


# ---- chunked prediction ------------------------------------------------------------


def test_chunked_predict_equals_in_memory_predict(tmp_path, churn_model):
    """tk predict in chunks of 700 rows (CSV in, Parquet and CSV out) == model.predict on the whole file."""
    from toolkit.cli import commands

    model, model_dir = churn_model
    expected = model.predict(pd.read_csv(CHURN / "churn.csv"))
    commands.predict(model_dir, CHURN / "churn.csv", tmp_path / "p.parquet", "split", chunk_rows=700)
    got = pd.read_parquet(tmp_path / "p.parquet")
    assert got["split"].tolist() == pd.read_csv(CHURN / "churn.csv")["split"].tolist()
    pd.testing.assert_frame_equal(got.drop(columns="split"), expected.reset_index(drop=True))
    commands.predict(model_dir, CHURN / "churn.csv", tmp_path / "p.csv", None, chunk_rows=1000)
    got_csv = pd.read_csv(tmp_path / "p.csv")
    assert len(got_csv) == len(expected)
    np.testing.assert_allclose(got_csv["churn::probability::Yes"], expected["churn::probability::Yes"], rtol=1e-6)


def test_predict_over_a_glob_of_parquet_files_keeps_row_order(tmp_path, churn_model):
    from toolkit.cli import commands

    model, model_dir = churn_model
    df = pd.read_csv(CHURN / "churn.csv")
    for i, part in enumerate(_parts(df, 4)):
        part.to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    commands.predict(model_dir, str(tmp_path / "part-*.parquet"), tmp_path / "out.jsonl", "split")
    got = pd.read_json(tmp_path / "out.jsonl", lines=True)
    expected = model.predict(df)
    assert got["split"].tolist() == df["split"].tolist()
    np.testing.assert_allclose(got["churn::probability::Yes"], expected["churn::probability::Yes"], rtol=1e-6)


def test_an_error_mid_file_leaves_no_partial_output(tmp_path, churn_model):
    """A text in a number column at row 6001 of 7043, after 6 chunks were written: exit 2 naming
    file, row and column; no output file, no temporary file left."""
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    _, model_dir = churn_model
    df = pd.read_csv(CHURN / "churn.csv").astype({"tenure": str})
    df.loc[6000, "tenure"] = "abc"
    bad = tmp_path / "bad.parquet"
    df.to_parquet(bad, index=False)
    out = tmp_path / "preds.csv"
    run = CliRunner().invoke(app, ["predict", str(model_dir), "-d", str(bad), "-o", str(out), "--chunk-rows", "1000"])
    assert run.exit_code == 2, run.output
    for needle in ("bad.parquet", "row 6001", "'tenure'", "abc"):
        assert needle in run.output, run.output
    assert "Traceback" not in run.output
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_a_bad_number_in_a_streamed_csv_names_the_column(tmp_path, churn_model):
    from typer.testing import CliRunner

    from toolkit.cli.main import app

    _, model_dir = churn_model
    df = pd.read_csv(CHURN / "churn.csv").astype({"tenure": object})
    df.loc[6000, "tenure"] = "abc"
    df.to_csv(tmp_path / "bad.csv", index=False)
    run = CliRunner().invoke(
        app,
        [
            "predict",
            str(model_dir),
            "-d",
            str(tmp_path / "bad.csv"),
            "-o",
            str(tmp_path / "p.csv"),
            "--chunk-rows",
            "1000",
        ],
    )
    assert run.exit_code == 2 and "'tenure'" in run.output and "abc" in run.output, run.output
    assert not (tmp_path / "p.csv").exists()


def test_streamed_training_writes_a_normal_model_directory(tmp_path):
    """api.train(stream=True) on churn in 1,500-row chunks: a model.onnx that predicts in onnxruntime,
    as well as the in-memory model does: test ROC AUC within 0.01 of an in-memory run of the same
    config on the same rows (churn's fixed split), though batches are drawn differently."""
    from toolkit import api
    from toolkit.runtime.predictor import Predictor

    cfg = load_config(CHURN / "config.yaml").model_copy(deep=True)
    cfg.trainer.epochs = 4
    model = api.train(cfg, CHURN / "churn.csv", output=tmp_path / "m", stream=True, chunk_rows=1500)
    assert model.stats["data"]["streamed"] and (tmp_path / "m" / "model.onnx").exists()
    in_memory = api.train(cfg, CHURN / "churn.csv", stream=False)
    assert model.stats["data"]["rows_per_split"] == in_memory.stats["data"]["rows_per_split"]
    auc_stream = model.stats["metrics"]["test"]["churn"]["roc_auc"]
    auc_memory = in_memory.stats["metrics"]["test"]["churn"]["roc_auc"]
    assert auc_memory > 0.8 and abs(auc_stream - auc_memory) <= 0.01, (auc_stream, auc_memory)
    df = pd.read_csv(CHURN / "churn.csv")
    outs = Predictor(tmp_path / "m").run(df.head(50))
    assert outs["churn::probabilities"].shape == (50, 2)
    np.testing.assert_allclose(
        outs["churn::probabilities"][:, 1],
        model.predict(df.head(50), engine="torch")["churn::probability::Yes"],
        atol=1e-5,
    )
