"""The README section of the peers benchmark (docs/peers.md): the command, date and load, the charts,
peers.md's tables and NOTES, how to read them.

    readme(res, Path("docs/peers.md"), Path("bench/results"))
"""

from __future__ import annotations

from pathlib import Path

from bench.peers.markdown import markdown
from bench.peers.targets import targets

NOTES = """### How to read it

- The machine has 2 cores and was shared with other jobs during the run (load averages above): absolute
  times are noisy and inflated; the ratios compare systems measured minutes apart in the same run.
  Every system ran single-threaded (OMP/MKL/OpenBLAS/torch = 1) so that none of them suffers more than
  another from thread over-subscription.
- Ludwig runs in its own virtual environment (bench/.venv-ludwig, `bash bench/peers/setup_ludwig.sh`), beside
  the same CPU torch 2.13 wheel as tk. The torchvision and torchaudio wheels pip installs with it cannot load
  their C extensions against that torch, and Ludwig imports both at start-up; bench/peers/ludwig_runner.py
  declares the two torchvision ops and stubs torchaudio's extension (neither is used by tabular or text
  features) before importing Ludwig, and starts `ludwig serve` through Ludwig's own CLI entry the same way.
- tk configs: `tk init-config`'s default on every dataset, and the example's own config
  (examples/<name>/config.yaml) where one exists: churn, reviews, diamonds. credit has no example config, so tk
  runs there only with the default, and that row is tk for the targets; no config is written for the benchmark.
- Ludwig's config mirrors the tk config the targets use (concat combiner with the same layers, width and dropout;
  same epochs, early stopping, batch size, learning rate and validation metric; text: mean-pooled word embeddings).
- skl2onnx: HistGradientBoosting with native categorical features converts, but onnxruntime's probabilities
  differ from scikit-learn's by up to 0.6–0.75 on the test rows, so that route is reported as failed (the
  error column says by how much; the conversion is checked on every test row before it is timed);
  a patch for skl2onnx 1.20 with numpy 2 (integer lists in tree attributes) is applied in
  bench/peers/sklearn_system.py. The TF-IDF conversion tokenises slightly differently from scikit-learn
  (max |Δp| in peers.json), as skl2onnx documents.
- The plain BentoML service serves the best scikit-learn model that converted; for diamonds, one ONNX file per output.
"""


def readme(res: dict, out_md: Path, results_dir: Path) -> None:
    """The README section (docs/peers.md): the command, date, load, tables, charts, targets.

    The charts are copied beside it as docs/peers_*.png so the README can show them.
    """
    import shutil

    out_md.parent.mkdir(parents=True, exist_ok=True)
    for png in ("peers_accuracy_vs_train_time.png", "peers_latency.png"):
        if (results_dir / png).exists():
            shutil.copyfile(results_dir / png, out_md.parent / png)
    m = res["machine"]
    body = markdown(res).split("\n", 2)[2]  # drop the title line
    ts = [
        t
        for name, ds in res["datasets"].items()
        if ds.get("systems")
        for t in targets(name, ds)
        if not t.get("reference")
    ]
    met = sum(t["met"] for t in ts)
    reruns = [n for n, ds in res["datasets"].items() if ds.get("rerun")]
    text = [
        "## tk side by side with Ludwig and scikit-learn",
        "",
        f"One command, run on {m['date'][:10]} (started {m['date']}, {res.get('wall_s', 0) / 60:.0f} min, git "
        f"{m.get('git_commit')}), every system on the same split, the same machine and in the same run. "
        f"Load average (1 min) at the start {m['loadavg_start'][0]:.2f}, at the end "
        f"{m.get('loadavg_end', [0])[0]:.2f} on 2 cores shared with other jobs: times are noisy, ratios are "
        f"side by side. {met} of {len(ts)} target checks met (the table at the end says which and why not)"
        + (f"; re-run alone and merged: {', '.join(reruns)} (see its section)" if reruns else "")
        + ":",
        "",
        "```sh",
        f"bash bench/peers/setup_ludwig.sh   # once: Ludwig {m['versions'].get('ludwig')} in bench/.venv-ludwig",
        f".venv/bin/{res['command']}",
        "```",
        "",
        "![test metric vs training time](peers_accuracy_vs_train_time.png)",
        "",
        "![single-row predict latency](peers_latency.png)",
        "",
        "Full results: bench/results/peers.json (machine, versions, load average, every row), bench/results/peers.md.",
        "",
        body,
        "",
        NOTES,
    ]
    text += [f"- {note}" for note in res.get("notes", [])]  # run-specific, added to peers.json by hand
    tmp = out_md.with_suffix(".md.tmp")
    tmp.write_text("\n".join(text) + "\n")
    tmp.replace(out_md)
