"""tk side by side with Ludwig and scikit-learn (+ skl2onnx): one command, JSON + markdown + PNG charts.

    bash bench/peers/setup_ludwig.sh                      # once: Ludwig in bench/.venv-ludwig
    .venv/bin/python -m bench.peers --datasets churn,reviews,credit,diamonds --out bench/results/
    .venv/bin/python -m bench.peers --quick --datasets credit   # a few minutes: ≤ 4,000 rows, 3 epochs

Per dataset (bench/peers/datasets.py: one fixed train/validation/test split for every system):
tk with `tk init-config`'s config and, where examples/ has one, the example's config; Ludwig with the equivalent config;
scikit-learn LogisticRegression/Ridge (one-hot, TF-IDF) and HistGradientBoosting, each converted
with skl2onnx and run in onnxruntime. Then served req/s and p99 at concurrency 1 and 32 on
127.0.0.1 for tk's BentoML service, `ludwig serve`, and a plain BentoML service around the best
converted scikit-learn model. Every system has a timeout; a failure is a row with its error.
Writes <out>/peers.json, peers.md, peers_accuracy_vs_train_time.png, peers_latency.png
(after each dataset, so an interrupted run keeps what it finished).

The package: datasets.py (the fixed splits and tk configs), one module per system (tk_system,
ludwig_system with ludwig_runner.py run in bench/.venv-ludwig, sklearn_system), children.py (each
system's measured child process), rows.py (test rows and scoring), serving.py (served req/s, with
plain_bento_service.py), report.py (peers.json, peers.md and the charts from: measures.py, what a row
measured; targets.py, the issue's targets; markdown.py; charts.py), readme_section.py (docs/peers.md);
__main__.py runs it.
"""
