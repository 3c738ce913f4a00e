"""Good requests' latency under 20 % bad traffic, at a fixed request rate (issue 6, item 4).

Run by hand from the repository root (it is not a test):

    .venv/bin/python -m bench.serve_faults --out bench/results          # trains churn first (~30 s)
    .venv/bin/python -m bench.serve_faults --model runs/churn --rate 200 --rounds 5

One `bentoml serve` of the churn model (1 worker, TK_MAX_BODY_BYTES 1.5 MB) on
127.0.0.1. Rounds alternate clean and mixed, so drift on this shared machine
falls on both:
- clean: `--rate` good single-row /predict requests per second for `--seconds`;
- mixed: the same good requests at the same instants, plus one bad request
  for every four good ones (20 % of all requests) at random instants, of the
  ten kinds in bench.bad_requests (malformed JSON, missing field, wrong
  types, oversized bodies, 1 MB strings, not JSON, multipart), sent by a
  second client process (the users who send bad requests are not the ones
  measured; one Python client sending both would charge the GIL time of
  writing a 1.6 MB body to the good requests).

An open loop: each request is sent at its scheduled instant by a pool of
threads, whatever the answers before it did, and its latency counts from that
instant (so a stall is charged to every request it delays, with no coordinated
omission). A closed loop of N threads would instead measure N / throughput,
which rises with any added request, good or bad. The figure: the good
requests' p99, mixed against clean, median over rounds (target ≤ 1.5×).

The package: traffic.py (the schedules and the clients that send them on time); __main__.py
runs the rounds and writes serve_faults.json and serve_faults.md.
"""
