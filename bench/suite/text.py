"""Issue 17 item 2, the text check: `tk init-config`'s YAML for examples/reviews vs TF-IDF + LogisticRegression.

    python -m bench.suite.text --tree /tmp/suite-tree --out bench/results      # → suite_text.{json,md}

On the example's own split (its `split` column: 3,600 / 400 / 1,000 rows), test ROC AUC and log
loss of the positive class `great`:
- tk init-config: the YAML `tk init-config reviews.csv --target score` writes, trained as is
  (init-config already reads the `split` column as a fixed split); `--tk-override` as in the suite;
- tk example: examples/reviews/config.yaml (hand-tuned), for reference;
- TF-IDF (1–2-grams, sublinear tf, min_df 2) + LogisticRegression(C=4), fitted on train +
  validation (as bench/peers and bench/train.py fit it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

from bench.suite.overrides import apply
from bench.suite.runner import Run
from bench.suite.scoring import score
from bench.suite.tk_system import init_config, run_tk

ROOT = Path(__file__).resolve().parents[2]
TARGET = "score"


def tfidf_logreg(csv: Path) -> dict:
    """TF-IDF + LogisticRegression on train + validation, scored on test."""
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    df = pd.read_csv(csv)
    fit, test = df[df["split"] != "test"], df[df["split"] == "test"]
    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), LogisticRegression(C=4.0, max_iter=1000)
    )
    t0 = time.perf_counter()
    pipe.fit(fit["review"].fillna(""), fit[TARGET].astype(str))
    train_s = time.perf_counter() - t0
    proba = pipe.predict_proba(test["review"].fillna(""))
    return {
        "system": "TF-IDF (1-2-grams) + LogisticRegression",
        "train_s": round(train_s, 3),
        "metrics": score("binary", test[TARGET], proba=proba, classes=list(pipe.classes_)),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.suite.text", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tree", type=Path, default=ROOT, help="source tree tk runs from (PYTHONPATH)")
    p.add_argument("--work", type=Path, default=Path("/tmp/tk-suite/reviews"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--name", default="suite_text")
    p.add_argument("--tk-override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--no-example", action="store_true", help="skip examples/reviews/config.yaml")
    args = p.parse_args(argv)

    csv = args.tree / "examples" / "reviews" / "reviews.csv"
    args.work.mkdir(parents=True, exist_ok=True)
    guessed = args.work / "init-config.yaml"
    init_config(args.tree, csv, TARGET, guessed)
    shutil.copy(csv, args.work / "data.csv")
    import pandas as pd

    df = pd.read_csv(csv)
    df[df["split"] == "test"].to_csv(args.work / "test.csv", index=False)
    results = []
    configs = {
        "tk init-config": apply(yaml.safe_load(guessed.read_text()), args.tk_override),
        "tk example (hand-tuned)": yaml.safe_load((args.tree / "examples/reviews/config.yaml").read_text()),
    }
    if args.no_example:
        configs.pop("tk example (hand-tuned)")
    for label, cfg in configs.items():
        cfg.pop("dataset", None)
        run = Run("reviews", 0, label.split(" ")[1], args.work, "binary", TARGET)
        results.append({"system": label, "config": cfg, **run_tk(run, cfg, args.tree, args.timeout)})
        print(results[-1]["system"], results[-1].get("metrics", results[-1].get("error")), flush=True)
    results.append(tfidf_logreg(args.work / "data.csv"))
    print(results[-1]["system"], results[-1]["metrics"], flush=True)
    command = "python -m bench.suite.text " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps({"command": command, "results": results}, indent=1))
    lines = [
        "# Text check (examples/reviews, its split)",
        "",
        f"`{command}`",
        "",
        "| system | test ROC AUC | test log loss | train s |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        m = r.get("metrics")
        lines.append(
            f"| {r['system']} | "
            + (f"{m['roc_auc']:.4f} | {m['log_loss']:.4f}" if m else f"error: {r.get('error')} | –")
            + f" | {r.get('train_s', 0):.1f} |"
        )
    (args.out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
