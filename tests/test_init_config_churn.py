"""`tk init-config` on the churn example (examples/churn): the types it infers, the config it writes trains,
and its speed (no heavy imports, inference in well under 0.5 s).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

from tests.init_config_helpers import CHURN, tk, types
from toolkit.config import guess as infer
from toolkit.config.schema import validate_config

CHURN_TYPES = {
    **dict.fromkeys(
        ["female", "senior_citizen", "partner", "dependents", "phone_service", "paperless_billing"], "binary"
    ),
    **dict.fromkeys(["tenure", "monthly_charges", "total_charges"], "number"),
    **dict.fromkeys(
        [
            "multiple_lines",
            "internet_service",
            "online_security",
            "online_backup",
            "device_protection",
            "tech_support",
            "streaming_tv",
            "streaming_movies",
            "contract",
            "payment_method",
        ],
        "category",
    ),
}


# ---- the churn example ------------------------------------------------------


def test_churn_types_and_fixed_split():
    result = tk("init-config", str(CHURN), "--target", "churn")
    assert result.returncode == 0, result.stderr
    inputs, outputs, cfg = types(result.stdout)
    assert inputs == CHURN_TYPES
    assert outputs == {"churn": "binary"}
    assert cfg["preprocessing"] == {"split": {"type": "fixed", "column": "split"}}
    assert cfg["dataset"] == str(CHURN)
    assert "# skipped" not in result.stdout
    validate_config(cfg)


def test_generated_churn_config_trains(tmp_path):
    """The user's path: copy the data, init-config -o, train from that file."""
    from toolkit import train

    shutil.copy(CHURN, tmp_path / "churn.csv")
    result = tk("init-config", "churn.csv", "-t", "churn", "-o", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP: more threads only contend (10x slower on a busy 2-core box)
    try:
        model = train(tmp_path / "config.yaml", output=tmp_path / "model")
    finally:
        torch.set_num_threads(threads)
    auc = model.stats["metrics"]["test"]["churn"]["roc_auc"]
    assert auc >= 0.84, f"test ROC AUC {auc:.4f}"


# ---- speed ------------------------------------------------------------------


def test_init_config_never_imports_the_heavy_stack(tmp_path):
    code = f"""
import sys
from typer.testing import CliRunner
from toolkit.cli.main import app
r = CliRunner().invoke(app, ["init-config", {str(CHURN)!r}, "-t", "churn", "-o", {str(tmp_path / "c.yaml")!r}])
assert r.exit_code == 0, r.output
heavy = sorted({{"torch", "pandas", "sklearn", "onnx", "onnxruntime"}} & set(sys.modules))
assert not heavy, heavy
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.yaml").read_text().startswith("# Written by `tk init-config`")


def test_inference_on_churn_is_fast():
    """The whole command must answer in 0.5 s; the inference itself takes well under half of it."""
    best = min(_cpu_seconds(lambda: infer.config_yaml(CHURN, ["churn"])) for _ in range(3))
    assert best < 0.2, f"{best:.3f} s of CPU"


def _cpu_seconds(fn) -> float:
    """CPU time, not wall time: a busy machine does not make the test flaky."""
    start = time.process_time()
    fn()
    return time.process_time() - start
