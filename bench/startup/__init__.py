"""Start-up time of the light commands (median of N fresh processes).

    .venv/bin/python -m bench.startup [--repeats 15]

Writes bench/results/startup.json and startup.md. Target (issue 2): each
≤ 0.5 s wall and no torch import; Ludwig's CLI spends 7-8.6 s importing.
"""
