"""`python -m bench.hyperopt_churn`: the 30-trial search on churn against the default config (see __init__.py)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import bench.hyperopt_churn
from bench.common import RESULTS, ROOT, command_line, tk_executable

TK = tk_executable()
CHURN = ROOT / "examples" / "churn"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT)
    return time.perf_counter() - start


def auc(model_dir: Path) -> dict:
    stats = json.loads((model_dir / "training_stats.json").read_text())
    return {split: round(stats["metrics"][split]["churn"]["roc_auc"], 4) for split in ("validation", "test")}


def seed_spread(config_text: str, seeds: int, tmp: Path) -> dict:
    """Test ROC AUC of `config_text` trained with trainer.seed = 1..seeds."""
    import statistics

    import yaml

    aucs = []
    for seed in range(1, seeds + 1):
        cfg = yaml.safe_load(config_text)
        cfg.pop("hyperopt", None)
        cfg["dataset"] = str(CHURN / "churn.csv")
        cfg.setdefault("trainer", {})["seed"] = seed
        path = tmp / f"seed{seed}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        subprocess.run([TK, "train", str(path), "-o", str(tmp / f"seed{seed}"), "-q"], check=True, cwd=ROOT)
        aucs.append(auc(tmp / f"seed{seed}")["test"])
    return {
        "test_roc_auc": aucs,
        "mean": round(statistics.mean(aucs), 4),
        "stdev": round(statistics.stdev(aucs), 4) if len(aucs) > 1 else None,
    }


def spread(result: dict, default_cfg: str, seeds: int, tmp: Path) -> None:
    result["seed_spread"] = {
        "seeds": seeds,
        "default (tk init-config)": seed_spread(default_cfg, seeds, tmp),
        "hyperopt best_config": seed_spread(result["best_config"], seeds, tmp),
    }
    result["default_config"] = default_cfg


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hyperopt_churn",
        description=bench.hyperopt_churn.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seeds-only", action="store_true", help="Only (re)do step 4 on the saved JSON.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="tk-hyperopt-bench-"))
    if args.seeds_only:
        path = args.out / "hyperopt_churn.json"
        result = json.loads(path.read_text())
        subprocess.run(
            [TK, "init-config", str(CHURN / "churn.csv"), "-t", "churn", "-o", str(tmp / "d.yaml")],
            check=True,
            cwd=ROOT,
        )
        spread(result, (tmp / "d.yaml").read_text(), args.seeds, tmp)
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result["seed_spread"], indent=1))
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        default_cfg = tmp / "default.yaml"
        subprocess.run(
            [TK, "init-config", str(CHURN / "churn.csv"), "-t", "churn", "-o", str(default_cfg)], check=True, cwd=ROOT
        )
        t_default = timed(
            [TK, "train", str(default_cfg), "--dataset", str(CHURN / "churn.csv"), "-o", str(tmp / "default"), "-q"]
        )
        t_hand = timed([TK, "train", str(CHURN / "config.yaml"), "-o", str(tmp / "hand"), "-q"])
        search = tmp / "search"
        t_search = timed([TK, "hyperopt", str(CHURN / "hyperopt.yaml"), "-o", str(search), "--jobs", str(args.jobs)])
        with open(search / "trials.csv", newline="") as f:
            trials = list(csv.DictReader(f))
        states = {}
        for t in trials:
            states[t["state"]] = states.get(t["state"], 0) + 1
        best = json.loads((search / "best_trial.json").read_text())
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "command": command_line("bench.hyperopt_churn", argv),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs: timings are noisy)",
            "search": {
                "config": "examples/churn/hyperopt.yaml",
                "jobs": args.jobs,
                "trials": len(trials),
                "states": states,
                "wall_seconds": round(t_search, 1),
                "trial_seconds_median": sorted(float(t["duration_s"]) for t in trials)[len(trials) // 2],
                "best_trial": best["trial"],
                "best_validation_roc_auc": round(best["value"], 4),
            },
            "roc_auc": {
                "default (tk init-config)": auc(tmp / "default"),
                "hand-tuned examples/churn/config.yaml": auc(tmp / "hand"),
                "hyperopt best_model": auc(search / "best_model"),
            },
            "train_seconds": {"default": round(t_default, 1), "hand-tuned": round(t_hand, 1)},
            "best_config": (search / "best_config.yaml").read_text(),
        }
        if args.seeds:
            spread(result, default_cfg.read_text(), args.seeds, tmp)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "hyperopt_churn.json").write_text(json.dumps(result, indent=1) + "\n")
        shutil.copy(search / "trials.csv", args.out / "hyperopt_churn_trials.csv")
        for png, name in (
            ("optimization_history.png", "hyperopt_churn_history.png"),
            ("param_importances.png", "hyperopt_churn_importances.png"),
        ):
            if (search / png).exists():
                shutil.copy(search / png, args.out / name)
        print(json.dumps({k: v for k, v in result.items() if k not in ("best_config", "default_config")}, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
