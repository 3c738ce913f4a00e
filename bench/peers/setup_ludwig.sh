#!/usr/bin/env bash
# Create bench/.venv-ludwig: Ludwig lives in its own virtual environment because its pins clash
# with tk's. torch 2.13.0 (CPU wheel, found locally by pip) goes in FIRST so that Ludwig's
# resolver keeps it instead of pulling a multi-GB CUDA build. Then the newest Ludwig release that
# installs beside it. The installed version is written to bench/.venv-ludwig/LUDWIG_VERSION.
# Usage: bash bench/peers/setup_ludwig.sh   (re-running is safe; it reuses the venv)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/bench/.venv-ludwig"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
  python3.11 -m venv "$VENV"
fi
"$PY" -m pip install --upgrade pip wheel setuptools
"$PY" -m pip install "torch==2.13.0"

# Newest first; the first release whose install succeeds (keeping torch 2.13.0) wins.
VERSIONS="${LUDWIG_VERSIONS:-$("$PY" -m pip index versions ludwig 2>/dev/null \
  | sed -n 's/^Available versions: //p' | tr -d ',')}"
INSTALLED=""
for v in $VERSIONS; do
  echo "== trying ludwig==$v"
  if "$PY" -m pip install "ludwig[serve]==$v" "torch==2.13.0"; then
    INSTALLED="$v"
    break
  fi
  echo "== ludwig==$v did not install beside torch 2.13.0"
  # stop after a handful of releases: older ones predate torch 2.x
  n=$(( ${n:-0} + 1 )); [ "$n" -ge 4 ] && break
done
if [ -z "$INSTALLED" ]; then
  echo "FAILED: no ludwig release installed beside torch==2.13.0" | tee "$VENV/LUDWIG_FAILED"
  exit 1
fi
"$PY" -c "import ludwig, torch; print('ludwig', ludwig.__version__, 'torch', torch.__version__)"
echo "$INSTALLED" > "$VENV/LUDWIG_VERSION"
rm -f "$VENV/LUDWIG_FAILED"
echo "OK ludwig $INSTALLED"
