"""`tk report MODEL... --dataset D --output DIR`: PNGs and one report.html.

One model: DIR/report.html and DIR/*.png. Two or more: DIR/report.html with
the metrics side by side and overlaid curves (DIR/compare_*.png), and each
model's own plots in DIR/<model name>/. File names per model:

    learning_curves.png
    <output>_confusion.png  _roc.png  _precision_recall.png  _calibration.png  _probabilities.png
    <output>_predicted_vs_actual.png  _residuals.png           (number outputs)
    <output>_label_f1.png                                       (set outputs)
    <output>_importance.png                                     (every output)
    <output>_attributions.png                                   (every output, when model.onnx explains)
    <output>_along_<date input>.png                             (each date input: plots_time)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.common import log
from toolkit.errors import TkError


@dataclass
class Plot:
    title: str
    path: Path
    wide: bool = False  # spans the page width in the HTML grid


@dataclass
class Section:
    """One model's part of the page."""

    run: object  # data.ModelRun
    plots: list[Plot]
    importances: list
    config_yaml: str
    notes: list[str] = field(default_factory=list)
    attributions: list = field(default_factory=list)  # importance.Attribution per output, when the file explains


def report(models: list[Path], dataset: Path | None, output: Path, importance_repeats: int = 5) -> Path:
    """Write `output`/report.html and the PNGs for `models` on the labelled `dataset`; return the HTML path."""
    from toolkit.data import tables as tkdata
    from toolkit.report import data, html
    from toolkit.runtime.model_dir import atomic_write

    models, output = [Path(m) for m in models], Path(output)
    if not models:
        raise TkError("tk report: name at least one model directory")
    if dataset is None:
        raise TkError("--dataset is required: the labelled rows to report on (e.g. the test split)")
    if output.exists() and not output.is_dir():
        raise TkError(f"--output {output}: exists and is a file; give a folder for report.html and the PNGs")
    from toolkit import api

    loaded = [api.load(m) for m in models]  # a missing or damaged model fails before the data is read
    df = tkdata.read_table(dataset)
    if len(df) == 0:
        raise TkError(f"{dataset}: no rows to report on")
    labels = _labels(models)
    runs = []
    for model, path, label in zip(loaded, models, labels):
        log.info(f"{label}: evaluating on {dataset} ({len(df)} rows)")
        runs.append(data.gather(model, path, label, df, str(dataset)))
    output.mkdir(parents=True, exist_ok=True)
    single = len(runs) == 1
    sections = []
    for run in runs:
        folder = output if single else output / _file_part(run.label)
        folder.mkdir(exist_ok=True)
        sections.append(model_section(run, df, folder, importance_repeats))
    compare = [] if single else compare_plots(runs, output)
    summary = data.data_summary(df, runs)
    page = html.page(
        dataset=str(dataset),
        created=time.strftime("%Y-%m-%d %H:%M:%S"),
        sections=sections,
        compare_plots=compare,
        summary=summary,
    )
    target = output / "report.html"
    atomic_write(target, page.encode("utf-8"))
    n_png = sum(len(s.plots) for s in sections) + len(compare)
    log.info(f"wrote {target} ({len(page) / 1024:.0f} KiB) and {n_png} PNGs in {output}")
    return target


def model_section(run, df, folder: Path, repeats: int) -> Section:
    """Every plot of one model into `folder`, and its permutation importance."""
    from toolkit.config.schema import render
    from toolkit.report import importance, plots_training
    from toolkit.report import plots_classification as pc
    from toolkit.report import plots_values as pv

    weights = {f.config.name: f.config.loss_weight for f in run.model.outputs}
    plots = [
        Plot(
            "Learning curves",
            plots_training.learning_curves(
                [(run.label, plots_training.curves(run.stats, weights))], folder / "learning_curves.png"
            ),
            wide=True,
        )
    ]
    notes = []
    plot_kinds = {  # what an output feature may name in its `report_plots`
        "confusion": ("Confusion matrix", pc.confusion),
        "roc": ("ROC", pc.roc),
        "precision_recall": ("Precision-recall", pc.precision_recall),
        "calibration": ("Calibration", pc.calibration),
        "probabilities": ("Predicted probabilities", pc.probabilities),
        "predicted_vs_actual": ("Predicted vs actual", pv.predicted_vs_actual),
        "residuals": ("Residuals", pv.residuals),
        "label_f1": ("F1 per label", pv.label_f1),
    }
    for o, feature in zip(run.outputs, run.model.outputs):
        if o.dropped:
            notes.append(f"{o.name}: {o.dropped} row(s) without a known target left out of its plots and metrics.")
        if len(o.y) == 0:
            notes.append(f"{o.name}: no row with a known target; no plots.")
            continue
        for key in feature.report_plots:
            title, draw = plot_kinds[key]
            path = folder / f"{_file_part(o.name)}_{key}.png"
            plots.append(Plot(f"{o.name}: {title}", draw(o, path)))
    plots += time_plots(run, df, folder)
    log.info(f"{run.label}: permutation importance ({repeats} repeats per column, through model.onnx)")
    imps = importance.permutation_importance(run, df, repeats=repeats)
    gains = run.stats.get("gbm", {}).get("gain", {})  # model_type gbm: the trees' own view, beside it
    for imp in imps:
        path = folder / f"{_file_part(imp.output)}_importance.png"
        plots.append(Plot(f"{imp.output}: permutation importance", pv.importance(imp, path)))
        if imp.output in gains:
            path = folder / f"{_file_part(imp.output)}_gain.png"
            plots.append(Plot(f"{imp.output}: LightGBM gain", pv.gain(imp.output, gains[imp.output], path)))
    atts = importance.attribution_importance(run, df)
    for att in atts:
        path = folder / f"{_file_part(att.output)}_attributions.png"
        plots.append(Plot(f"{att.output}: mean |attribution|", pv.mean_abs_attribution(att, path)))
    return Section(run, plots, imps, render(run.model.config), notes, atts)


def time_plots(run, df, folder: Path) -> list[Plot]:
    """Each number, binary and category output along each date input (plots_time.over_time); none where
    too few rows are dated."""
    from toolkit.report import plots_time

    plots = []
    for f in [f for f in run.model.inputs if f.type == "date"]:
        days = plots_time.dated_days(f, df)
        for o in run.outputs:
            if len(o.y) == 0 or o.type not in plots_time.OUTPUT_TYPES:
                continue
            path = folder / f"{_file_part(o.name)}_along_{_file_part(f.config.name)}.png"
            try:
                drawn = plots_time.over_time(o, days, f.config.name, path)
            except (ValueError, OverflowError) as e:  # matplotlib's date axis ends at the years 1 and 9999
                log.warn(f"{run.label}: no plot of {o.name} along {f.config.name}: {e}")
                continue
            if drawn is not None:
                plots.append(Plot(f"{o.name} along {f.config.name}", path, wide=True))
    return plots


def compare_plots(runs, output: Path) -> list[Plot]:
    """Overlaid learning curves, and per output shared by the models: ROC or residuals."""
    from toolkit.report import plots_classification as pc
    from toolkit.report import plots_training
    from toolkit.report import plots_values as pv

    curves = [
        (r.label, plots_training.curves(r.stats, {f.config.name: f.config.loss_weight for f in r.model.outputs}))
        for r in runs
    ]
    plots = [
        Plot(
            "Learning curves, models compared",
            plots_training.learning_curves(curves, output / "compare_learning_curves.png"),
            wide=True,
        )
    ]
    names = [o.name for o in runs[0].outputs]
    for name in names:
        found = [(r.label, o) for r in runs for o in r.outputs if o.name == name and len(o.y)]
        if len(found) < 2 or len({o.type for _, o in found}) > 1:
            continue
        kind = found[0][1].type
        if kind in ("binary", "category") and len({tuple(o.classes) for _, o in found}) == 1:
            path = output / f"compare_{_file_part(name)}_roc.png"
            plots.append(Plot(f"{name}: ROC, models compared", pc.compare_roc(name, found, path)))
        elif kind == "number":
            path = output / f"compare_{_file_part(name)}_residuals.png"
            plots.append(Plot(f"{name}: residuals, models compared", pv.compare_residuals(name, found, path)))
    return plots


def _labels(models: list[Path]) -> list[str]:
    """A short distinct name per model: the folder name, or more of the path when names repeat."""
    names = [m.resolve().name for m in models]
    if len(set(names)) == len(names):
        return names
    full = [str(m) for m in models]
    if len(set(full)) == len(full):
        return full
    return [f"{n} ({i + 1})" for i, n in enumerate(full)]


def _file_part(name: str) -> str:
    from toolkit.report.figures import file_part

    return file_part(name)
