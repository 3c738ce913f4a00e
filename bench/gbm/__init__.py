"""GBM benchmark: LightGBM called directly vs tk's GBM path vs scikit-learn HistGradientBoosting.

    python -m bench.gbm [--sets churn,Boston] [--out bench/results]

Writes bench/results/gbm.json and gbm.md. See __main__.py for what is measured.
"""
