"""bench/results/gbm.md from the results of bench/gbm/__main__.py."""

from __future__ import annotations

from bench.gbm.scoring import MAIN_METRIC

NAMES = {"lightgbm": "LightGBM direct", "tk_gbm": "tk gbm", "tk_gbm_raw": "tk gbm, raw numbers",
         "hgb": "HistGradientBoosting"}


def _f(v, digits=4):
    return "—" if v is None else f"{v:.{digits}f}"


def markdown(meta: dict, results: list[dict]) -> str:
    systems = list(results[0]["systems"]) if results else []
    lines = ["# GBM: LightGBM directly vs tk's GBM path vs HistGradientBoosting", "",
             f"`{meta['command']}`; {meta['split']}; LightGBM {meta['lightgbm']}, onnxruntime "
             f"{meta['onnxruntime']}, scikit-learn {meta['sklearn']}; tk gbm defaults "
             f"(num_trees {meta['gbm_config']['num_trees']}, learning_rate {meta['gbm_config']['learning_rate']}, "
             f"num_leaves {meta['gbm_config']['num_leaves']}, early_stop {meta['gbm_config']['early_stop']}) "
             "for LightGBM direct and tk; HistGradientBoosting*() defaults on train + validation.", "",
             "## Test metric (ROC AUC binary, accuracy multiclass, R² regression) and train seconds", "",
             "| set | task | rows | " + " | ".join(NAMES.get(s, s) for s in systems)
             + " | tk − LightGBM | " + " | ".join(f"{NAMES.get(s, s)} s" for s in systems) + " |",
             "|" + "---|" * (3 + 2 * len(systems) + 1)]
    for r in results:
        m = MAIN_METRIC[r["task"]]
        vals = {s: r["systems"][s]["metrics"][m] for s in systems}
        gap = (vals["tk_gbm"] - vals["lightgbm"]) if {"tk_gbm", "lightgbm"} <= set(vals) else None
        lines.append(f"| {r['set']} | {r['task']} | {r['rows']:,} | " + " | ".join(_f(vals[s]) for s in systems)
                     + f" | {_f(gap)} | " + " | ".join(_f(r['systems'][s]['train_s'], 2) for s in systems) + " |")
    lines += ["", "## Second metric (log loss classification, RMSE regression)", "",
              "| set | " + " | ".join(NAMES.get(s, s) for s in systems) + " |", "|" + "---|" * (1 + len(systems))]
    for r in results:
        m = "rmse" if r["task"] == "regression" else "log_loss"
        lines.append(f"| {r['set']} | " + " | ".join(_f(r["systems"][s]["metrics"][m]) for s in systems) + " |")
    tk = [s for s in systems if s.startswith("tk_gbm")]
    if tk:
        lines += ["", "## tk's one file (pre graph + trees + post): parity and onnxruntime latency", "",
                  "1 intra-op thread, median ms of `session.run`; the trees alone take the pre tensors. "
                  "Parity: max |file − Python path| on the test rows (probabilities; values relative).", "",
                  "| set | system | matrix columns | rounds | parity | file 1 row | trees 1 row | file 256 rows "
                  "| trees 256 rows | file kB |", "|" + "---|" * 10]
        for r in results:
            for s in tk:
                x = r["systems"][s]
                lines.append(f"| {r['set']} | {NAMES[s]} | {x['columns']} | {x['rounds']} | {x['file_parity']:.1e} | "
                             f"{x['file_ms_1']:.3f} | {x['trees_ms_1']:.3f} | {x['file_ms_256']:.3f} | "
                             f"{x['trees_ms_256']:.3f} | {x['file_bytes'] / 1e3:.0f} |")
    return "\n".join(lines) + "\n"
