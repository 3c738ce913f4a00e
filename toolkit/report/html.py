"""The report as one self-contained HTML file.

Images are embedded as base64 `data:` URIs, the style is inline, there is no
script that runs and no link to the network: the file can be mailed or opened
offline. Every piece of text from a config, a dataset or a model goes through
html.escape. Metrics are shown with 4 decimals; their exact values are in each
cell's `data-value` and in the JSON block `<script type="application/json"
id="tk-metrics">` ({"dataset", "models": {label: {"path", "metrics"}}}), which
holds what `tk evaluate --json` prints for each model.
"""

from __future__ import annotations

import base64
import json
import math
from html import escape
from pathlib import Path

from toolkit.scoring.metrics import LOWER_IS_BETTER

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:2px solid #d8dde3;padding-bottom:4px}
h3{font-size:15px;margin:22px 0 8px}.muted{color:#5d6773}.warn{color:#9a3412;background:#fff7ed;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;font-size:13px}
th,td{border:1px solid #dde2e8;padding:4px 10px;text-align:left}th{background:#eef1f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.best{font-weight:700;color:#0b6b2f}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
figure{margin:0;background:#fff;border:1px solid #dde2e8;padding:8px}figure.wide{grid-column:1/-1}
figure img{width:100%;height:auto;display:block}figcaption{font-size:12px;color:#5d6773;margin-top:4px}
pre{background:#fff;border:1px solid #dde2e8;padding:10px;overflow:auto;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}.card{background:#fff;border:1px solid #dde2e8;padding:8px 14px}
.card b{display:block;font-size:17px}.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}details{margin:10px 0}summary{cursor:pointer;font-weight:600}
"""


def fmt(value) -> str:
    """A metric for people: 4 decimals; NaN as 'n/a'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _num(value) -> str:
    return f'<td class="num" data-value="{escape(repr(value))}">{escape(fmt(value))}</td>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    """`rows` hold ready HTML cells (`<td>…</td>`); `head` plain text."""
    ths = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def _td(text) -> str:
    return f"<td>{escape(str(text))}</td>"


def _figure(plot) -> str:
    data = base64.b64encode(Path(plot.path).read_bytes()).decode("ascii")
    cls = ' class="wide"' if plot.wide else ""
    return (
        f'<figure{cls}><img alt="{escape(plot.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(plot.title)} — {escape(Path(plot.path).name)}</figcaption></figure>"
    )


def metrics_table(labels: list[str], metrics: list[dict]) -> str:
    """Output × metric rows, one column per model; the best value per row in bold when compared."""
    head = ["output", "metric"] + (labels if len(labels) > 1 else ["value"])
    rows, seen = [], []
    for ms in metrics:
        for out, values in ms.items():
            for name in values:
                if (out, name) not in seen:
                    seen.append((out, name))
    for out, name in seen:
        values = [m.get(out, {}).get(name) for m in metrics]
        known = [v for v in values if v is not None and not math.isnan(v)]
        best = (min(known) if name in LOWER_IS_BETTER else max(known)) if len(labels) > 1 and known else None
        cells = [_td(out), _td(name)]
        for v in values:
            cell = _num(v) if v is not None else "<td>—</td>"
            cells.append(cell.replace('class="num"', 'class="num best"') if best is not None and v == best else cell)
        rows.append(cells)
    return _table(head, rows)


def training_table(sections) -> str:
    """One row per model: where it is, its best epoch and validation value, rows, train time."""
    rows = []
    for s in sections:
        st = s.run.stats
        per_split = st.get("data", {}).get("rows_per_split", {})
        rows.append(
            [
                _td(s.run.label),
                _td(s.run.path),
                _td(f"{st.get('best_epoch')} of {len(st.get('epochs', []))}"),
                _td(st.get("validation_metric", "")),
                _num(st.get("best_value")),
                _td(" / ".join(str(per_split.get(k, 0)) for k in ("train", "validation", "test"))),
                _td(f"{st.get('train_seconds', float('nan')):.1f} s"),
            ]
        )
    return _table(
        [
            "model",
            "path",
            "best epoch",
            "validation metric",
            "best value",
            "rows train / validation / test",
            "train time",
        ],
        rows,
    )


def _split_metrics(stats: dict) -> str:
    splits = list(stats.get("metrics", {}))
    rows = []
    for out, values in (stats.get("metrics", {}).get(splits[0], {}) if splits else {}).items():
        for name in values:
            rows.append([_td(out), _td(name)] + [_num(stats["metrics"][s].get(out, {}).get(name)) for s in splits])
    return _table(["output", "metric"] + splits, rows)


def _refit_and_silent_classes(stats: dict) -> str:
    """Two notes from training_stats.json: which model the split metrics are of (trainer.refit), and the
    classes no validation row was given (a model answering too few classes must not ship unseen)."""
    parts = []
    if stats.get("refit"):
        parts.append(
            '<p class="muted">The metrics per split are those of the model trained on the train split; '
            "the saved model was then refit on train + validation, so its validation rows are no longer "
            "unseen. The metrics on the dataset above are the saved model's.</p>"
        )
    for output, classes in stats.get("never_predicted", {}).items():
        parts.append(
            f'<p class="warn"><b>{escape(output)}</b>: never predicted on the validation rows: '
            f"{escape(', '.join(map(str, classes)))}. The model may answer too few classes.</p>"
        )
    return "".join(parts)


def _cards(items: list[tuple[str, str]]) -> str:
    return (
        '<div class="cards">'
        + "".join(f'<div class="card"><span class="muted">{escape(k)}</span><b>{escape(v)}</b></div>' for k, v in items)
        + "</div>"
    )


def _interface(iface: dict) -> str:
    inputs = _table(
        ["ONNX input (column)", "dtype", "feature", "type"],
        [[_td(i["name"]), _td(i["dtype"]), _td(i["feature"]), _td(i["type"])] for i in iface["inputs"]],
    )
    outputs = _table(
        ["ONNX output", "dtype", "shape", "feature", "type", "classes"],
        [
            [
                _td(o["name"]),
                _td(o["dtype"]),
                _td(o["shape"]),
                _td(o["feature"]),
                _td(o["type"]),
                _td(", ".join(map(str, o["classes"]))),
            ]
            for o in iface["outputs"]
        ],
    )
    return f'<div class="row"><div><h3>Inputs</h3>{inputs}</div><div><h3>Outputs</h3>{outputs}</div></div>'


def _importance(imps, atts=()) -> str:
    """Per output: the permutation importance per column and, when model.onnx explains, the mean
    |attribution| of the input of that name beside it."""
    by_output = {a.output: dict(zip(a.names, a.mean_abs)) for a in atts}
    parts = []
    for imp in imps:
        att = by_output.get(imp.output)
        rows = [
            [_td(c), _num(float(m)), _num(float(lo)), _num(float(hi))]
            + ([_num(float(att[c])) if c in att else _td("–")] if att is not None else [])
            for c, m, lo, hi in zip(imp.columns, imp.mean, imp.low, imp.high)
        ]
        head = ["column", "mean drop", "95% CI low", "95% CI high"] + (
            ["mean |attribution|"] if att is not None else []
        )
        parts.append(
            f"<details><summary>{escape(imp.output)}: drop of {escape(imp.metric)} per column "
            f"(baseline {escape(fmt(imp.baseline))})</summary>" + _table(head, rows) + "</details>"
        )
    return "".join(parts)


def model_section(section, single: bool, data_html: str = "") -> str:
    """One model: metrics, training, plots, importance, `data_html`, interface, config."""
    run, stats = section.run, section.run.stats
    data = stats.get("data", {})
    cards = [
        ("best epoch", f"{stats.get('best_epoch')} of {len(stats.get('epochs', []))}"),
        (f"best validation {stats.get('validation_metric', '')}", fmt(stats.get("best_value"))),
        ("stopped early", "yes" if stats.get("stopped_early") else "no"),
        ("train time", f"{stats.get('train_seconds', float('nan')):.1f} s"),
    ]
    cards += [(f"{k} rows", str(v)) for k, v in data.get("rows_per_split", {}).items()]
    out = [
        f'<section id="model-{escape(run.label)}">',
        f'<h2>{escape(run.label)} <span class="muted">({escape(str(run.path))})</span></h2>',
        _cards(cards),
    ]
    if single:
        out.append("<h3>Metrics on the dataset</h3>" + metrics_table([run.label], [run.metrics]))
    out.append(_refit_and_silent_classes(stats))
    out.append("<h3>Metrics at training time, per split</h3>" + _split_metrics(stats))
    out.append('<h3>Plots</h3><div class="grid">' + "".join(map(_figure, section.plots)) + "</div>")
    if section.notes:
        out.append("".join(f'<p class="muted">{escape(n)}</p>' for n in section.notes))
    if section.importances:
        title = "Permutation importance" + (" and mean |attribution|" if section.attributions else "")
        out.append(f"<h3>{title} (through model.onnx)</h3>" + _importance(section.importances, section.attributions))
    out.append(data_html)
    out.append("<h3>Model inputs and outputs (model.onnx)</h3>" + _interface(run.interface))
    out.append(
        "<details><summary>Config (resolved, every default filled in)</summary><pre>"
        + escape(section.config_yaml)
        + "</pre></details>"
    )
    out.append("</section>")
    return "".join(out)


def data_section(summary: dict, stats: list[dict], labels: list[str]) -> str:
    """Rows, missing values per column (here and, per model, in its training data), class balance."""
    rows = summary["rows"]
    trained = [st.get("data", {}).get("missing_per_column", {}) for st in stats]
    head = ["column", "missing", "share"] + (
        ["missing in training data"] if len(stats) == 1 else [f"missing in training: {label}" for label in labels]
    )
    missing = _table(
        head,
        [
            [_td(c), _num(n), _td(f"{n / max(rows, 1):.1%}")]
            + [_num(t[c]) if c in t else "<td>—</td>" for t in trained]
            for c, n in summary["missing"].items()
        ],
    )
    balance = "".join(
        f"<h3>Class balance: {escape(out)}</h3>"
        + _table(
            ["class", "rows", "share"],
            [[_td(c), _num(n), _td(f"{n / max(sum(counts.values()), 1):.1%}")] for c, n in counts.items()],
        )
        for out, counts in summary["balance"].items()
    )
    return (
        f"<h2>Data</h2><p>{rows} rows in the dataset.</p>"
        f'<div class="row"><div><h3>Missing values per column</h3>{missing}</div><div>{balance}</div></div>'
    )


def page(*, dataset: str, created: str, sections: list, compare_plots: list, summary: dict) -> str:
    """The whole HTML document as a string."""
    labels = [s.run.label for s in sections]
    machine = {
        "dataset": dataset,
        "models": {s.run.label: {"path": str(s.run.path), "metrics": s.run.metrics} for s in sections},
    }
    blob = json.dumps(machine, indent=1).replace("</", "<\\/")
    single = len(sections) == 1
    title = f"tk report: {labels[0]}" if single else f"tk report: {', '.join(labels)}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">dataset {escape(dataset)} · {summary["rows"]} rows · written {escape(created)}</p>',
    ]
    if not single:
        body.append(
            "<h2>Models compared</h2>"
            + metrics_table(labels, [s.run.metrics for s in sections])
            + training_table(sections)
        )
        body.append('<div class="grid">' + "".join(map(_figure, compare_plots)) + "</div>")
    data_html = data_section(summary, [s.run.stats for s in sections], labels)
    for s in sections:
        inner = model_section(s, single, data_html if single else "")
        body.append(
            inner
            if single
            else f"<details><summary>{escape(s.run.label)}: plots, importance, "
            f"inputs, config</summary>{inner}</details>"
        )
    if not single:
        body.append(data_html)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        + "".join(body)
        + f'<script type="application/json" id="tk-metrics">{blob}</script></main></body></html>\n'
    )
