"""`tk report`: PNG plots and one self-contained HTML page about trained models.

    data.py                 run a model on a labelled table: metrics (= `tk evaluate`), outputs, targets
    importance.py           permutation importance through the ONNX Predictor
    figures.py              a headless (Agg) figure and an atomic PNG write
    plots_training.py       learning curves
    plots_classification.py confusion matrix, ROC, precision-recall, calibration, probabilities
    plots_values.py         regression (predicted vs actual, residuals), set outputs, importance
    html.py                 the page: images as data URIs, escaped text, no network
    build.py                `report(models, dataset, output)`: checks, plots, page
    summary.py              the table `tk train` prints at the end

Nothing here is imported by `tk --help`; matplotlib loads only when a report is made.
"""
