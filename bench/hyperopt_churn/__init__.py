"""Hyperopt benchmark: a 30-trial search on churn against the untuned default config.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.hyperopt_churn --jobs 2 --out bench/results

1. `tk init-config examples/churn/churn.csv -t churn` → the untuned default config; `tk train` it.
2. `tk train examples/churn/config.yaml` (the hand-tuned example), for reference.
3. `tk hyperopt examples/churn/hyperopt.yaml --jobs N` (30 trials, timeout_minutes 20).
Test ROC AUC of each model is read from its training_stats.json (the fixed test
split, never seen by the search: trials are scored on the validation split).
4. Seed spread: the default config and the search's best config trained again
   with trainer.seed 1..S, so the gap between them can be read against the
   noise of one training run (`--seeds-only` redoes just this step from the JSON).
Writes hyperopt_churn.json, hyperopt_churn_trials.csv and the two PNGs.
"""
