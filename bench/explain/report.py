"""bench/results/explain.md from explain.json."""

from __future__ import annotations

import math


def _f(x, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _median(vals: list[float]) -> float:
    vals = sorted(v for v in vals if v is not None and not math.isnan(v))
    if not vals:
        return float("nan")
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def _deletion(r: dict) -> str:
    return f"{_f(r['deletion_top'])} / {_f(r['deletion_random'])} (k={r['k']})"


def markdown(done: dict) -> str:
    rows = done["faithfulness"]
    ok = [r for r in rows if "error" not in r]
    gbm = [r for r in ok if r["kind"] == "gbm"]
    lines = [
        "# Explanations inside model.onnx: faithfulness, latency, size",
        "",
        "`python -m bench.explain` (bench/explain/). Method (toolkit/export/explain.py): Shapley values over the",
        "model's input columns, computed in the file's explain branch. model_type gbm: exact path-dependent",
        "TreeSHAP (the game of LightGBM's pred_contrib and of shap's default TreeExplainer; the baseline is the",
        "trees' mean score over their training rows), each leaf's product game by Gauss-Legendre quadrature in",
        "the graph (toolkit/export/explain_path.py). Networks (nn; an ensemble's network and text member) in the",
        "interventional game of the file's 16 background rows (validation rows, each column drawn on its own):",
        "exact coalitions for few inputs, antithetic permutations (fixed seed) for many, by one batched run of",
        "a copy of the core; an ensemble's trees in that same game by the closed form of interventional",
        "TreeSHAP (toolkit/export/explain_trees*.py). Spearman: median over rows of the rank correlation of one",
        "row's attributions with the reference's. Deletion: mean |Δ score| when the k inputs with the largest",
        "|attribution| are replaced by background values, against k random inputs (k = P // 5, at least 1).",
        "",
        "## model_type gbm",
        "",
        "Reference, on 40 test rows per set: shap 0.51's TreeExplainer with its defaults (tree_path_dependent,",
        "which for LightGBM returns LightGBM's own pred_contrib), raw output, its columns summed per input",
        "(for an input of several matrix columns, a text or a vector, that sum is not the input's Shapley",
        "value: Spearman and max |Δ| then compare close but different numbers). Beside it: shap's",
        "interventional TreeExplainer on the file's 16 background rows (another game). Sum error: max over",
        "rows of |Σ attributions − (score − baseline)|.",
        "",
        "| set | task | inputs | category splits | one column per input | Spearman vs shap TreeExplainer | max abs diff | vs shap interventional (another game) | sum error | deletion top-k / random-k | passed | model.onnx |",
        "|---|---|---:|---|---|---:|---:|---:|---|---|---|---:|",
    ]
    for r in gbm:
        lines.append(
            f"| {r['set']} | {r['task']} | {r['players']} | {'yes' if r.get('categorical_splits') else 'no'} "
            f"| {'yes' if r.get('one_column_inputs') else 'no'} | {_f(r['spearman'])} | {_e(r.get('max_abs_diff_shap'))} "
            f"| {_f(r.get('spearman_interventional'))} | {_e(r.get('sum_error_ours'))} | {_deletion(r)} "
            f"| {'yes' if r['deletion_passed'] else 'NO'} | {_mb(r.get('model_bytes'))} |"
        )
    for r in rows:
        if "error" in r and r["kind"] == "gbm":
            lines.append(f"| {r['set']} | | | | | error: {r['error'][:120]} | | | | | | |")
    if gbm:
        lines += [
            "",
            f"- median over sets: vs shap's TreeExplainer {_median([r['spearman'] for r in gbm]):.3f}"
            f" (target ≥ 0.9; {sum(r['spearman'] < 0.9 for r in gbm)} of {len(gbm)} sets below it);"
            f" vs shap interventional {_median([r.get('spearman_interventional') for r in gbm]):.3f}."
            f" Deletion passed on {sum(r['deletion_passed'] for r in gbm)} of {len(gbm)}.",
        ]
    others = [r for r in ok if r["kind"] != "gbm"]
    lines += [
        "",
        "## model_type nn and ensemble",
        "",
        "Reference: shap's PermutationExplainer (10 antithetic permutations a row, a 50-row background of",
        "training rows, shap's Independent masker) on the file's score, on 20 test rows.",
        "",
        "| set | task | kind | inputs | method (evaluations/row) | Spearman vs shap | rows | deletion top-k / random-k | passed |",
        "|---|---|---|---:|---|---:|---:|---|---|",
    ]
    for r in others:
        lines.append(
            f"| {r['set']} | {r['task']} | {r['kind']} | {r['players']} | {r['method']} ({r['evaluations']}) "
            f"| {_f(r['spearman'])} | {r['rows_compared']} | {_deletion(r)} | {'yes' if r['deletion_passed'] else 'NO'} |"
        )
    for r in rows:
        if "error" in r and r["kind"] != "gbm":
            lines.append(f"| {r['set']} | | {r['kind']} | | | error: {r['error'][:120]} | | | |")
    for kind, target in (("nn", 0.8), ("ensemble", 0.8)):
        vals = [r["spearman"] for r in others if r["kind"] == kind]
        if vals:
            lines += [
                "",
                f"- {kind}: median over sets of the per-set Spearman {_median(vals):.3f} (target ≥ {target}); "
                f"{sum(v < target for v in vals)} of {len(vals)} sets below it; deletion passed on "
                f"{sum(r['deletion_passed'] for r in others if r['kind'] == kind)} of {len(vals)}.",
            ]
    lines += [
        "",
        "An ensemble's method reads \"trees + …\" when its trees' term is exact and the network's sampled; its",
        'rows measured before that change read "exact" or "permutations" (see the note at the end).',
    ]
    lat = done.get("latency")
    if lat:
        lines += [
            "",
            "## Latency and size",
            "",
            lat.get("note", ""),
            "",
            "| model | file without explain branch | with | rows | predict, file without (µs) | predict, file with (µs) "
            "| ratio | explain (µs) | explain / predict |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m in lat["models"]:
            for r in m["rows"]:
                lines.append(
                    f"| {m['name']} | {m['bytes_without'] / 1024:.0f} KiB | {m['bytes_with'] / 1024:.0f} KiB | "
                    f"{r['rows']} | {r['predict_without_us']:.0f} | {r['predict_with_us']:.0f} | "
                    f"{r['predict_with_us'] / r['predict_without_us']:.3f} | "
                    f"{_f(r.get('explain_us'), 0)} | {_f(r.get('explain_ratio'), 1)} |"
                )
    for note in done.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _mb(x) -> str:
    return "–" if x is None else f"{x / 1e6:.1f} MB"


def _e(x) -> str:
    return "–" if x is None else f"{x:.1e}"
