"""Fuzzing configs with hypothesis (issue 6, item 3): random configs never end in a traceback.

- random VALID configs over one small fixed table with number / binary /
  category / text / set inputs and binary / category / number targets train
  for one tiny epoch (`train(cfg, df)` in memory);
- random INVALID mutations of a valid config (unknown key, wrong type,
  negative size, unknown type, duplicate name, missing column, …) through the
  real CLI exit 2 with `error:` lines naming cfg.yaml and a YAML path, and no
  traceback.
Every example count is bounded (`max_examples`) and printed (`pytest -s`).
Strategies: tests/fuzz_configs_strategies.py; the table: tests/fuzz_data.py.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.bad_input_helpers import clean, runner
from tests.fuzz_configs_strategies import BASE, invalid_mutations, valid_configs
from tests.fuzz_data import COUNTS, DF, print_counts
from toolkit import train
from toolkit.cli.main import app
from toolkit.common import log


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(cfg=valid_configs())
def test_random_valid_configs_train_one_epoch(cfg):
    log.quiet = True
    COUNTS["valid_configs"] += 1
    note(yaml.safe_dump(cfg, sort_keys=False))
    model = train(cfg, DF)
    preds = model.predict(DF.head(5))
    assert len(preds) == 5
    assert set(f"{o['name']}::" for o in cfg["output_features"]) <= {c.split("::")[0] + "::" for c in preds.columns}


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzzdata") / "data.csv"
    DF.to_csv(path, index=False)
    return path


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(mutation=invalid_mutations, n_extra=st.integers(0, 2))
def test_random_invalid_configs_exit_2_naming_the_yaml_path(tmp_path_factory, data_csv, mutation, n_extra):
    path, mutate = mutation
    cfg = copy.deepcopy(BASE)
    mutate(cfg)
    COUNTS["invalid_configs"] += 1
    tmp = tmp_path_factory.mktemp("bad")
    cfg_file = tmp / "cfg.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    note(cfg_file.read_text())
    result = runner.invoke(
        app, ["train", str(cfg_file), "--dataset", str(data_csv), "--output", str(tmp / "model"), "--quiet"]
    )
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    stderr = clean(result.stderr)
    assert escaped is None, f"uncaught {type(escaped).__name__}: {escaped}\n{stderr}"
    assert "Traceback" not in result.output
    assert result.exit_code == 2, f"exit {result.exit_code} for {path}\n{stderr}"
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr
    assert any(path in line for line in errors), f"{path!r} not named in:\n" + "\n".join(errors)
    # config errors name the file; data errors (missing column) name the data file
    assert all("cfg.yaml" in line or "data.csv" in line for line in errors), errors
    assert not (tmp / "model").exists(), "no model directory after a failed train"


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    """After this module: print how many configs and rows the fuzz tests tried (see with -s)."""
    yield
    print_counts()
