"""GPU benchmark: does every example train on `trainer.device: cuda` with the CPU's test metrics, and is the
GPU kept busy? One command, under 5 minutes on one GPU:

    python -m bench.gpu                       # on a machine with an NVIDIA GPU → bench/results/gpu.{json,md}
    python -m bench.gpu --cpu-only --quick    # anywhere: the cpu side only (checks the script), gpu-cpu-only.*

Runs (each a whole `tk train` in its own process, through bench/gpu/phases.py, which times its phases):
  1. churn, reviews, diamonds, penguins: 3 epochs (--quick: 1) on cuda and on cpu; test metrics side by
     side, flagged when they differ by more than 0.005 (absolute for metrics in [0, 1], relative to the
     cpu value for loss, mae, rmse).
  2. diamonds stacked 10 times (539,400 rows), `combiner: transformer`, 2 epochs: cuda, cpu with
     `threads:` every core, and cuda with `trainer.precision: bf16`.
  3. reviews with a transformer text encoder (dim 64, no bigrams), 3 epochs: the same three.
The bf16 runs are made only when tk's config accepts `trainer.precision: bf16` (checked by validating the
run's config). Each run records the process's wall time, `train_seconds` (the epoch loop), the time
around it, the test metrics, the exclusive seconds per phase, and nvidia-smi's utilisation and memory:
`nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200` runs in a
background process for the length of each run (stopped by its PID); the mean utilisation is given over
the run and over the epoch loop (its start and end times come from phases.py). Runs are made in order of
importance; one that would start after --budget-s (270 s) is recorded as skipped.

The GPU machine (Python 3.12, torch 2.11 + CUDA, onnx 1.23.1, onnxruntime 1.30, pandas, pyarrow,
scikit-learn, pyyaml, typer, rich, safetensors; no network) lacks what tk's training path imports:
  - pydantic 2.14.4 and its needs: pydantic-core 2.50.5, annotated-types 0.8.0, typing-inspection 0.4.5,
    typing-extensions 4.16.0 (carried to be sure of a version pydantic-core accepts);
  - onnxruntime 1.32.0: tk requires ≥ 1.32 (pyproject.toml) and was tested with it; the machine's 1.30
    is older.
Not needed for training (imported lazily or not on this path, checked by blocking their import during a
`tk train`): bentoml, lightgbm, optuna, matplotlib, onnxscript. Download the wheels once, here, into .whl/
(ignored: `/.whl/` in .git/info/exclude), 30 MB in all:

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \\
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \\
      pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \\
      typing-extensions==4.16.0 onnxruntime==1.32.0

and on the GPU machine (the device tool: carry [".whl"], repository root as the working directory):

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \\
      .whl/*.whl && export PYTHONPATH=/tmp/site || exit; PYTHONUNBUFFERED=1 python3 -m bench.gpu

tk is not installed there: the children run `python -m bench.gpu.phases` from the repository root with
the root on PYTHONPATH (bench.common.python_path). bench/gpu/README.md has the one-line command.
"""
