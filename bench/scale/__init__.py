"""Scale benchmark (issue 9): nycflights13 flights stacked to 1 M and 4 M rows of Parquet.

    .venv/bin/python -m bench.scale [--sizes 1000000 4000000] [--nproc 1 2] [--epochs 1]

For each size and process count, `tk train` runs in a subprocess (streamed:
the files are a glob); a poller reads every process's peak RSS (VmHWM) from
/proc. Reports seconds per epoch (training_stats.json), peak RSS of the
largest process, and prediction rows/s through onnxruntime (the Predictor on
in-memory columns, and `tk predict` streamed file to file). Data goes to
bench/.data (gitignored). Writes bench/results/scale.json and scale.md (or into --out).
Timings on a shared 2-core machine are noisy: compare ratios measured side by side.

The package: data.py (the stacked flights data and the tk config), runs.py (the measured
`tk train` / `tk predict` processes, and the in-process Predictor); __main__.py runs them and
writes the report.
"""
