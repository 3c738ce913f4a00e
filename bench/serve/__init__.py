"""Serving benchmark: the BentoML service under closed-loop load on loopback.

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.serve --out bench/results            # trains churn and reviews first
    .venv/bin/python -m bench.serve --models churn --trained churn=runs/churn --duration 4

What it measures, on the churn model, single-row requests (`{"rows": [row]}`):
- req/s, p50, p99 and errors at concurrency 1, 8, 32, 64 for `POST /predict`
  (adaptive batching) and `POST /predict_bulk` (the same work, unbatched);
- with 1 and 2 workers (`TK_WORKERS`), and /predict batched by tk's greedy
  batcher (the default) or by BentoML's own `batchable=True` dispatcher
  (`TK_BATCHING=bentoml`): one `bentoml serve` each, all started together and
  measured in turns (see bench_model);
- the ceilings: `POST /ping` (a trivial endpoint in the same server: what
  BentoML itself costs), the Predictor's rows/s in-process, and the load
  generator against a trivial asyncio server (what the client alone can do);
- `/predict` at concurrency 1 right after a c=64 run: BentoML's dispatcher
  keeps the waits it learned under load for a while.

Every server is `bentoml serve` on 127.0.0.1 and a free port, started with
`serving.process.ServerProcess` and stopped by PID with its children. Each run
is bounded by `--duration` seconds. The load generator (bench.loadgen) is
one asyncio process with raw keep-alive sockets; its CPU and the server's CPU
(all its processes, from /proc) are recorded per run, so a reader can see who
had the cores: client and server share the machine's cores, and on this
workplace other jobs do too (load average recorded per run).

The package: examples.py (the example models, their rows, the in-process Predictor ceiling),
runs.py (the servers, measured in turns), report.py (the targets and serve.md); __main__.py
parses the options and writes serve.json and serve.md.
"""
