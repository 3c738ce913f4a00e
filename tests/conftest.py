"""Shared fixtures: example paths and models trained once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "examples" / "churn"
PENGUINS = ROOT / "examples" / "penguins"


@pytest.fixture(scope="session")
def churn_model(tmp_path_factory):
    """The churn example trained once, saved to a model directory: (model, dir)."""
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    out = tmp_path_factory.mktemp("runs") / "churn"
    model = train(CHURN / "config.yaml", output=out)
    return model, out


@pytest.fixture(scope="session")
def penguins_model(tmp_path_factory):
    from toolkit import train
    from toolkit.common import log

    log.quiet = True
    out = tmp_path_factory.mktemp("runs") / "penguins"
    model = train(PENGUINS / "config.yaml", output=out)
    return model, out


@pytest.fixture(scope="session")
def churn_json_rows(churn_model):
    """60 churn rows as a JSON client sends them: numbers for float inputs, blank → null."""
    import csv

    from toolkit.runtime.predictor import FLOAT, Predictor

    inputs = Predictor(churn_model[1]).inputs
    with open(CHURN / "churn.csv", newline="") as f:
        records = list(csv.DictReader(f))[:60]
    return [
        {c: None if r[c] == "" else (float(r[c]) if t == FLOAT else r[c]) for c, t in inputs.items()} for r in records
    ]
