"""The AutoGluon anchor of the suite (issue 25, item 4), trained in bench/.venv-autogluon as a child process.

    bash bench/suite/setup_autogluon.sh                 # once: autogluon.tabular 1.6 in bench/.venv-autogluon
    r = run_autogluon(run, columns)                     # columns: {input: tk type} from the init-config YAML

`TabularPredictor(label, problem_type, eval_metric=<the suite's primary metric>)
.fit(train + validation, presets="medium", time_limit=120)`, scored on the test rows from its
predict_proba / predict. AutoGluon holds out its own validation rows from what it is given (the
same 80 % LightGBM, HGB and linear fit on). The split's rows are written to
<run dir>/autogluon-fit.csv and autogluon-test.csv (the inputs tk's init-config chose, text
included, and the target); bench/suite/autogluon_runner.py trains in the AutoGluon venv, under
`nice`, with AutoGluon's own CPU choice (both cores). One split per set is enough (SYSTEMS gives it
the first seed only). train_s is `predictor.fit`'s wall time inside the child (imports and
prediction excluded; process_s is the whole child); the model directory is deleted after scoring.
Missing venv, failed install or failed run: the result carries the reason, as for any system.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.suite.scoring import PRIMARY, score

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "bench" / ".venv-autogluon"
PYTHON = VENV / "bin" / "python"
RUNNER = Path(__file__).with_name("autogluon_runner.py")
PRESETS = "medium"
TIME_LIMIT_S = 120
TIMEOUT_S = 900  # the child's own limit: time_limit, start-up, prediction and AutoGluon's overrun
EVAL_METRIC = {"roc_auc": "roc_auc", "accuracy": "accuracy", "r2": "r2"}  # suite metric → AutoGluon's name


def installed() -> tuple[str | None, str | None]:
    """(autogluon.tabular version, None) or (None, why not)."""
    version = VENV / "AUTOGLUON_VERSION"
    if PYTHON.exists() and version.exists():
        return version.read_text().strip(), None
    failed = VENV / "AUTOGLUON_FAILED"
    if failed.exists():
        return None, failed.read_text().strip()
    return None, "bench/.venv-autogluon missing: run bash bench/suite/setup_autogluon.sh"


def _predictions(pred_csv: Path, task: str) -> dict[str, Any]:
    import pandas as pd

    df = pd.read_csv(pred_csv, keep_default_na=False)
    if task == "regression":
        return {"pred": df["pred"].astype(float).to_numpy()}
    return {"proba": df.astype(float).to_numpy(), "classes": list(df.columns)}


def run_autogluon(run, columns: dict[str, str]) -> dict[str, Any]:
    """Train AutoGluon on train + validation in its venv, score it on test; the result dict."""
    import pandas as pd

    version, why = installed()
    if version is None:
        raise RuntimeError(why)
    df = pd.read_csv(run.csv, keep_default_na=True)
    keep = [*columns, run.target]
    fit_csv, test_csv = run.dir / "autogluon-fit.csv", run.dir / "autogluon-test.csv"
    df[df["split"].isin(["train", "validation"])][keep].to_csv(fit_csv, index=False)
    test = df[df["split"] == "test"]
    test[keep].to_csv(test_csv, index=False)
    model_dir, pred_csv = run.dir / "autogluon-model", run.dir / "autogluon-pred.csv"
    shutil.rmtree(model_dir, ignore_errors=True)
    spec = {
        "train_csv": str(fit_csv),
        "test_csv": str(test_csv),
        "label": run.target,
        "problem_type": run.task,
        "eval_metric": EVAL_METRIC[PRIMARY[run.task]],
        "columns": columns,
        "presets": PRESETS,
        "time_limit": TIME_LIMIT_S,
        "model_dir": str(model_dir),
        "pred_csv": str(pred_csv),
    }
    spec_path = run.dir / "autogluon-spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            ["nice", str(PYTHON), str(RUNNER), str(spec_path)],
            cwd=run.dir,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"autogluon child: timeout after {TIMEOUT_S} s") from None
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    process_s = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"autogluon child exit {proc.returncode}: " + " | ".join(tail)[-600:])
    child = json.loads(lines[-1])
    return {
        "train_s": child["fit_s"],
        "predict_s": child["predict_s"],
        "process_s": round(process_s, 3),
        "fit_rows": int(df["split"].isin(["train", "validation"]).sum()),
        "presets": PRESETS,
        "time_limit": TIME_LIMIT_S,
        "best_model": child["best_model"],
        "models": child["models"],
        "version": version,
        "metrics": score(run.task, test[run.target], **_predictions(pred_csv, run.task)),
    }
