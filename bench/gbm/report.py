"""The markdown of bench/gbm: per set, the mean (± sd over seeds) of each system's test metrics."""

from __future__ import annotations

import numpy as np

from bench.gbm.scoring import MAIN_METRIC

NAMES = {
    "lightgbm": "LightGBM direct",
    "tk_gbm": "tk gbm",
    "tk_gbm_raw": "tk gbm, raw numbers",
    "hgb": "HistGradientBoosting",
}
SECOND = {"binary": "log_loss", "multiclass": "log_loss", "regression": "rmse"}


def _by_set(results: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in results:
        out.setdefault(r["set"], []).append(r)
    return out


def _cell(values: list[float], digits: int = 4) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _metric_table(sets: dict, systems: list[str], which) -> list[str]:
    gaps = [s for s in ("tk_gbm", "tk_gbm_raw") if s in systems and "lightgbm" in systems]
    lines = [
        "| set | task | rows | "
        + " | ".join(NAMES.get(s, s) for s in systems)
        + "".join(f" | {NAMES[g]} − LightGBM" for g in gaps)
        + " |",
        "|" + "---|" * (3 + len(systems) + len(gaps)),
    ]
    for name, rows in sets.items():
        m = which(rows[0]["task"])
        vals = {s: [r["systems"][s]["metrics"][m] for r in rows] for s in systems}
        gap_cells = "".join(" | " + _cell([a - b for a, b in zip(vals[g], vals["lightgbm"])]) for g in gaps)
        lines.append(
            f"| {name} | {rows[0]['task']} | {rows[0]['rows']:,} | "
            + " | ".join(_cell(vals[s]) for s in systems)
            + gap_cells
            + " |"
        )
    return lines


def markdown(meta: dict, results: list[dict]) -> str:
    systems = list(results[0]["systems"]) if results else []
    sets = _by_set(results)
    c = meta["gbm_config"]
    lines = [
        "# GBM: LightGBM directly vs tk's GBM path vs HistGradientBoosting",
        "",
        f"`{meta['command']}`; {meta['split']} (mean ± sd over seeds when several); LightGBM "
        f"{meta['lightgbm']}, onnxruntime {meta['onnxruntime']}, scikit-learn {meta['sklearn']}; one thread "
        f"per system. LightGBM direct and tk: the tk gbm config (num_trees {c['num_trees']}, learning_rate "
        f"{c['learning_rate']}, num_leaves {c['num_leaves']}, min_data_in_leaf {c['min_data_in_leaf']}, "
        f"early_stop {c['early_stop']} on validation); HistGradientBoosting*() defaults fitted on "
        "train + validation."
        + (
            f" Load average during the run: {meta['load_average']} on "
            f"{meta.get('cpus', '?')} cores (a shared machine): seconds and "
            "milliseconds are inflated and noisy; metrics are not affected."
            if meta.get("load_average")
            else ""
        ),
        "",
        "## Test metric: ROC AUC (binary), accuracy (multiclass), R² (regression)",
        "",
    ]
    lines += _metric_table(sets, systems, MAIN_METRIC.get)
    lines += ["", "## Second metric: log loss (classification), RMSE (regression); lower is better", ""]
    lines += _metric_table(sets, systems, SECOND.get)
    lines += [
        "",
        "## Train seconds (tk: feature fitting + pre graph + LightGBM)",
        "",
        "| set | " + " | ".join(NAMES.get(s, s) for s in systems) + " |",
        "|" + "---|" * (1 + len(systems)),
    ]
    for name, rows in sets.items():
        lines.append(
            f"| {name} | " + " | ".join(_cell([r["systems"][s]["train_s"] for r in rows], 2) for s in systems) + " |"
        )
    tk = [s for s in systems if s.startswith("tk_gbm")]
    if tk:
        lines += [
            "",
            "## tk's one file (pre graph + trees + post): parity and onnxruntime latency (first seed)",
            "",
            '1 intra-op thread, median ms of `session.run`; "trees" is the trees graph alone fed the pre '
            "tensors. Parity: max |file − Python path (pre graph, LightGBM, post in numpy)| on the test rows "
            "(probabilities; values relative to max(1, |value|)).",
            "",
            "| set | system | matrix columns | rounds | parity | file 1 row | trees 1 row | file 256 rows "
            "| trees 256 rows | file kB |",
            "|" + "---|" * 10,
        ]
        for name, rows in sets.items():
            for s in tk:
                x = rows[0]["systems"][s]
                lines.append(
                    f"| {name} | {NAMES[s]} | {x['columns']} | {x['rounds']} | {x['file_parity']:.1e} | "
                    f"{x['file_ms_1']:.3f} | {x['trees_ms_1']:.3f} | {x['file_ms_256']:.3f} | "
                    f"{x['trees_ms_256']:.3f} | {x['file_bytes'] / 1e3:.0f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    """python -m bench.gbm.report gbm.json: rewrite gbm.md beside it from the JSON."""
    import argparse
    import json
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m bench.gbm.report")
    ap.add_argument("json")
    path = Path(ap.parse_args(argv).json)
    data = json.loads(path.read_text())
    path.with_suffix(".md").write_text(markdown(data["meta"], data["results"]))


if __name__ == "__main__":
    main()
