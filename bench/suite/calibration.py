"""What temperature scaling would do to tk's models in the suite (issue 17, item 4), measured offline.

    python -m bench.suite.calibration --label tk --seeds 0,1,2,3,4 --out bench/results   # → suite_calibration.md

For every classification set and seed whose `<label>-model` the suite left in the work directory,
`tk predict` scores all rows; one temperature T is fitted on the validation rows (minimising
their log loss over log T, scipy's bounded scalar minimiser) and applied to the test rows'
logits (binary: logit(p) / T; multiclass: log p / T, softmax). ROC AUC and accuracy cannot
change (T keeps the order and the argmax); the test log loss and Brier score (binary) are
reported before and after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.suite.datasets import DATASETS
from bench.suite.tk_system import call

ROOT = Path(__file__).resolve().parents[2]


def _proba(pred_csv: Path, target: str):
    import pandas as pd

    df = pd.read_csv(pred_csv, keep_default_na=False)
    prefix = f"{target}::probability::"
    cols = [c for c in df.columns if c.startswith(prefix)]
    proba = np.clip(df[cols].astype(float).to_numpy(), 1e-15, 1.0)
    return proba / proba.sum(axis=1, keepdims=True), [c[len(prefix) :] for c in cols]  # float32: off 1 by ~1e-7


def scaled(proba, t: float):
    """Probabilities [N, C] with their logits divided by t (softmax of log p / t)."""
    from scipy.special import softmax

    return softmax(np.log(np.clip(proba, 1e-12, 1.0)) / t, axis=1)


def fit_temperature(proba, y, classes) -> float:
    """The T > 0 that minimises the log loss of `scaled(proba, T)` on (proba, y)."""
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import log_loss

    res = minimize_scalar(
        lambda lt: log_loss(y, scaled(proba, float(np.exp(lt))), labels=classes), bounds=(-3, 3), method="bounded"
    )
    return float(np.exp(res.x))


def measure(run_dir: Path, label: str, target: str, tree: Path) -> dict | None:
    """T fitted on validation and the test log loss / Brier before and after; None without a model."""
    import pandas as pd
    from sklearn.metrics import brier_score_loss, log_loss

    model = run_dir / f"{label}-model"
    if not model.exists():
        return None
    out = run_dir / f"{label}-pred-all.csv"
    if not out.exists():
        _, error = call(
            tree, ["predict", str(model), "--dataset", str(run_dir / "data.csv"), "--output", str(out)], 600
        )
        if error:
            return {"error": error}
    data = pd.read_csv(run_dir / "data.csv", keep_default_na=False)
    proba, classes = _proba(out, target)
    order = np.argsort(classes)
    proba, classes = proba[:, order], [classes[i] for i in order]
    y = data[target].astype(str).to_numpy()
    val, test = (data["split"] == "validation").to_numpy(), (data["split"] == "test").to_numpy()
    t = fit_temperature(proba[val], y[val], classes)
    after = scaled(proba[test], t)
    r = {
        "T": t,
        "log_loss_before": float(log_loss(y[test], proba[test], labels=classes)),
        "log_loss_after": float(log_loss(y[test], after, labels=classes)),
    }
    if len(classes) == 2:
        pos = y[test] == classes[1]
        r["brier_before"] = float(brier_score_loss(pos, proba[test][:, 1]))
        r["brier_after"] = float(brier_score_loss(pos, after[:, 1]))
    return r


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.suite.calibration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--label", default="tk", help="the tk variant whose models to calibrate")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--tree", type=Path, default=ROOT)
    p.add_argument("--work", type=Path, default=Path("/tmp/tk-suite"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--name", default="suite_calibration")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name, spec in DATASETS.items():
        if spec.task == "regression":
            continue
        for seed in seeds:
            r = measure(args.work / name / f"seed{seed}", args.label, spec.target, args.tree)
            if r is not None:
                rows.append({"set": name, "seed": seed, **r})
                print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps({"label": args.label, "runs": rows}, indent=1))
    lines = [
        f"# Temperature scaling on `{args.label}`'s models (fitted on validation, scored on test)",
        "",
        f"`python -m bench.suite.calibration --label {args.label} --seeds {args.seeds}`",
        "",
        "| set | T (mean) | test log loss before | after | Brier before | after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ok = [r for r in rows if "error" not in r]
    for name in DATASETS:
        rs = [r for r in ok if r["set"] == name]
        if not rs:
            continue
        m = {k: np.mean([r[k] for r in rs]) for k in rs[0] if k not in ("set", "seed")}
        brier = f"{m['brier_before']:.4f} | {m['brier_after']:.4f}" if "brier_before" in m else "– | –"
        lines.append(f"| {name} | {m['T']:.2f} | {m['log_loss_before']:.4f} | {m['log_loss_after']:.4f} | {brier} |")
    if ok:
        lines.append(
            f"| **mean** | | {np.mean([r['log_loss_before'] for r in ok]):.4f} | "
            f"{np.mean([r['log_loss_after'] for r in ok]):.4f} | | |"
        )
    (args.out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
