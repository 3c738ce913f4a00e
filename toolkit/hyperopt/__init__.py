"""Hyperparameter search on Optuna: `tk hyperopt cfg.yaml`.

    space.py    the `hyperopt:` config section (pydantic) and its checks against the config
    apply.py    dotted config paths: `input_features.review.encoder.type` → a value in the dict
    study.py    storage, sampler and pruner from the section; interrupted trials
    worker.py   one search process: reserve a trial, train it, report epochs, keep the best model
    run.py      the study, the worker processes, the progress display, the outputs
    outputs.py  trials.csv, best_config.yaml and the PNG plots

Only space.py is imported by toolkit.config.schema, and it imports nothing heavy
(no optuna, no torch), so `tk config render` stays light.
"""
