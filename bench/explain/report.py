"""bench/results/explain.md from explain.json."""

from __future__ import annotations

import math


def _f(x, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(done: dict) -> str:
    rows = done["faithfulness"]
    lines = [
        "# Explanations inside model.onnx: faithfulness, latency, size",
        "",
        "`python -m bench.explain` (bench/explain/). Method: toolkit/export/explain.py — Shapley values over the",
        "model's input columns, background rows from the validation split, exact coalitions for few inputs,",
        "antithetic permutations (fixed seed) for many, computed by one batched run of a copy of the core in the",
        "file's explain branch. Spearman: median over rows of the rank correlation of one row's attributions with",
        "shap's (TreeExplainer for gbm; PermutationExplainer on a sample for nn and ensemble). Deletion: mean",
        "|Δ score| when the k inputs with the largest |attribution| are replaced by background values, against k",
        "random inputs (k = P // 5, at least 1).",
        "",
        "| set | task | kind | inputs | method (evaluations/row) | Spearman vs shap | rows | vs shap's permutation explainer (same game) | deletion top-k / random-k | passed |",
        "|---|---|---|---:|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['set']} | | {r['kind']} | | | error: {r['error'][:120]} | | | | |")
            continue
        lines.append(
            f"| {r['set']} | {r['task']} | {r['kind']} | {r['players']} | {r['method']} ({r['evaluations']}) "
            f"| {_f(r['spearman'])} | {r['rows_compared']} | {_f(r.get('spearman_permutation'))} "
            f"| {_f(r['deletion_top'])} / "
            f"{_f(r['deletion_random'])} (k={r['k']}) | {'yes' if r['deletion_passed'] else 'NO'} |"
        )
    ok = [r for r in rows if "error" not in r]
    for kind, target in (("gbm", 0.9), ("nn", 0.8), ("ensemble", 0.8)):
        vals = [r["spearman"] for r in ok if r["kind"] == kind and not math.isnan(r["spearman"])]
        if vals:
            vals.sort()
            med = vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
            below = sum(v < target for v in vals)
            lines.append("")
            lines.append(
                f"- {kind}: median over sets of the per-set Spearman {med:.3f} (target ≥ {target}); "
                f"{below} of {len(vals)} sets below it; deletion passed on "
                f"{sum(r['deletion_passed'] for r in ok if r['kind'] == kind)} of "
                f"{sum(1 for r in ok if r['kind'] == kind)}."
            )
    lines += [
        "",
        "Reading: for gbm the reference is a different game (TreeExplainer's tree_path_dependent: conditional",
        "expectations through the trees' covers) from the file's (interventional: background rows, as shap's",
        "permutation explainer plays it); the column 'vs shap's permutation explainer' compares the same game",
        "(both sampled, so both noisy). Inputs with tiny attributions make the rank correlation noisy on",
        "wide sets (Caravan: 85 inputs, most near zero). Offline on the same gbm models: 2,048 evaluations",
        "per row instead of 512 moved mlc_churn 0.84 → 0.86, attrition 0.84 → 0.94, Caravan 0.39 → 0.61;",
        "Saabas path attributions per leaf scored 0.57-1.0 (lending_club 0.71): not better overall, so",
        "the kind-agnostic method stays. loans_full_schema: tk cannot export that gbm at all (a split",
        "threshold of inf in LightGBM's dump), explanations or not.",
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
    return "\n".join(lines) + "\n"
