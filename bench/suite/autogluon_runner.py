"""AutoGluon's side of the suite's AutoGluon anchor, run by bench/.venv-autogluon/bin/python (never by tk's venv).

    bench/.venv-autogluon/bin/python bench/suite/autogluon_runner.py SPEC.json

SPEC (written by bench/suite/autogluon_system.py): train_csv and test_csv (inputs + label), label,
problem_type (binary | multiclass | regression), eval_metric, columns {input: tk type}, presets,
time_limit, model_dir, pred_csv. Category, binary and text inputs are read as strings (the types
tk's init-config chose; AutoGluon then finds its own categories and text), numbers as floats.
`TabularPredictor(label, problem_type, eval_metric, path).fit(train, presets, time_limit)`, then
predict_proba / predict on the test rows, written to pred_csv (one column per class, or `pred`).
Prints one JSON line: fit_s, predict_s, best model, models trained, versions.
Standard library + AutoGluon's own dependencies only.
"""

from __future__ import annotations

import json
import sys
import time


def read(path: str, columns: dict[str, str], label: str, problem_type: str):
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=True)
    for c, t in columns.items():
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float) if t == "number" else df[c].astype("string")
    df[label] = df[label].astype(float) if problem_type == "regression" else df[label].astype(str)
    return df[[*columns, label]]


def main(spec_path: str) -> None:
    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    spec = json.loads(open(spec_path).read())
    label, problem_type = spec["label"], spec["problem_type"]
    train = read(spec["train_csv"], spec["columns"], label, problem_type)
    test = read(spec["test_csv"], spec["columns"], label, problem_type)
    predictor = TabularPredictor(
        label=label, problem_type=problem_type, eval_metric=spec["eval_metric"], path=spec["model_dir"], verbosity=1
    )
    t0 = time.perf_counter()
    predictor.fit(train, presets=spec["presets"], time_limit=spec["time_limit"])
    fit_s = time.perf_counter() - t0
    x_test = test.drop(columns=[label])
    t0 = time.perf_counter()
    if problem_type == "regression":
        out = predictor.predict(x_test).to_frame("pred")
    else:
        out = predictor.predict_proba(x_test)
    predict_s = time.perf_counter() - t0
    out.to_csv(spec["pred_csv"], index=False)
    board = predictor.leaderboard(silent=True)
    print(
        json.dumps(
            {
                "fit_s": round(fit_s, 3),
                "predict_s": round(predict_s, 4),
                "best_model": predictor.model_best,
                "models": len(board),
                "model_names": board["model"].tolist(),
                "versions": {"autogluon.tabular": autogluon.tabular.__version__},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
