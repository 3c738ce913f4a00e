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
        "model's input columns in the interventional game of the file's 16 background rows (validation rows,",
        "each column drawn on its own). Trees (model_type gbm, and the trees' term of an ensemble): exact, by",
        "the closed form of interventional TreeSHAP per leaf and background case, computed in the file's",
        "explain branch (toolkit/export/explain_trees*.py). Networks (nn, and an ensemble's network): exact",
        "coalitions for few inputs, antithetic permutations (fixed seed) for many, by one batched run of a",
        "copy of the core. Spearman: median over rows of the rank correlation of one row's attributions with",
        "the reference's. Deletion: mean |Δ score| when the k inputs with the largest |attribution| are",
        "replaced by background values, against k random inputs (k = P // 5, at least 1).",
        "",
        "## model_type gbm",
        "",
        "References, on 40 test rows per set: shap 0.51's TreeExplainer in the file's own game",
        '(`feature_perturbation="interventional"`, `data=` the file\'s 16 background rows, raw output, its columns',
        "summed per input); the generic Shapley estimator on LightGBM's own predictions in that game (every",
        "coalition when 2^P · 16 ≤ 8,192, else 8,192 evaluations of antithetic permutations a row; 20 rows),",
        "which shares nothing with the closed form; and TreeExplainer's default game, tree_path_dependent",
        "(conditional expectations through the trees' covers: a different game, for comparison only).",
        "Sum errors: max over rows of |Σ attributions − (score − baseline)| (shap's: its values times the",
        "output's scale against the same numbers).",
        "",
        "| set | task | inputs | category splits | Spearman vs shap interventional | vs generic estimator (same game) | vs shap tree_path_dependent | sum error: file / shap | deletion top-k / random-k | passed |",
        "|---|---|---:|---|---:|---:|---:|---|---|---|",
    ]
    for r in gbm:
        lines.append(
            f"| {r['set']} | {r['task']} | {r['players']} | {'yes' if r.get('categorical_splits') else 'no'} "
            f"| {_f(r['spearman'])} | {_f(r.get('spearman_generic'))} ({r.get('generic_method', '–')}) "
            f"| {_f(r.get('spearman_path'))} "
            f"| {_e(r.get('sum_error_ours'))} / {_e(r.get('sum_error_shap'))} | {_deletion(r)} "
            f"| {'yes' if r['deletion_passed'] else 'NO'} |"
        )
    for r in rows:
        if "error" in r and r["kind"] == "gbm":
            lines.append(f"| {r['set']} | | | | error: {r['error'][:120]} | | | | | |")
    if gbm:
        broken = [r for r in gbm if (r.get("sum_error_shap") or 0) > 1e-3]
        clean = [r for r in gbm if r not in broken and "sum_error_shap" in r]
        lines += [
            "",
            f"- median over sets: vs shap interventional {_median([r['spearman'] for r in gbm]):.3f}"
            f" ({sum(r['spearman'] < 0.9 for r in gbm)} of {len(gbm)} below 0.9); on the {len(clean)} sets where shap's"
            f" own sums hold {_median([r['spearman'] for r in clean]):.3f};"
            f" vs the generic estimator {_median([r.get('spearman_generic') for r in gbm]):.3f};"
            f" vs tree_path_dependent {_median([r.get('spearman_path') for r in gbm]):.3f}."
            f" Deletion passed on {sum(r['deletion_passed'] for r in gbm)} of {len(gbm)}.",
            "- the file's sums hold to float32 rounding (relative to the score's size; Sacramento's 3e-2 is"
            " on prices of about 3e5 dollars). shap's interventional TreeExplainer misses its own sum on"
            f" {len(broken)} sets ({', '.join(r['set'] + ('' if r.get('categorical_splits') else ' (no category split)') for r in broken)}):"
            " where the trees split on categories shap does not follow LightGBM's category splits; there the"
            " generic estimator, which runs LightGBM itself, is the reference of the same game.",
        ]
        sampled = [r for r in gbm if not str(r.get("method", "trees")).startswith("trees")]
        if sampled:
            exact = [r for r in gbm if r not in sampled]
            lines.append(
                "- forests over toolkit.export.explain.EXACT_MAX_SLOTS (65,536 path slots) are explained by the"
                " sampled method instead (their file and export cost what the sampled branch costs): "
                + ", ".join(f"{r['set']} ({r['method']}, {r['evaluations']} evaluations)" for r in sampled)
                + f". On the {len(exact)} exactly explained sets: vs the generic estimator"
                f" {_median([r.get('spearman_generic') for r in exact]):.3f}, vs tree_path_dependent"
                f" {_median([r.get('spearman_path') for r in exact]):.3f}."
            )
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


def _e(x) -> str:
    return "–" if x is None else f"{x:.1e}"
