"""Training benchmark: `tk train` against scikit-learn baselines on the same split.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.train --datasets churn --repeats 3 --out bench/results

Every measured run is its own fresh process, so wall time and peak RSS are
whole-process figures (interpreter start and imports included) and comparable
between systems:

- tk:        the real CLI, `.venv/bin/tk train CONFIG --dataset DATA --output TMP -q`;
             test ROC AUC read back from TMP/training_stats.json.
- baselines: `python -m bench.train --one DATASET:SYSTEM`, which loads the data,
             fits on the train + validation rows, scores the test rows and prints
             one JSON line.

Wall time is measured around the child by this (parent) process; peak RSS is the
child's own `ru_maxrss` from `os.wait4` (the same source as `/usr/bin/time %M`),
so it is per process and never mixed up with other children. Runs of the
different systems are interleaved (tk, logreg, hgb, tk, logreg, hgb, ...) so
that a noisy neighbour on a shared machine hits all of them alike; medians are
reported.

To add a dataset, add one entry to DATASETS: the tk config, a data path (or a
function that writes the data file and returns its path), the target and its
positive class, how the fixed split is read, and the baselines, each a function
that takes the feature columns grouped by tk type and returns an unfitted
scikit-learn estimator.

The package: datasets.py (DATASETS, the baselines, targets), runs.py (the measured child
processes), report.py (the console table and train.md), phases.py (where the seconds of one
`tk train` go: `python -m bench.train.phases CONFIG -o DIR`); __main__.py runs it.
"""
