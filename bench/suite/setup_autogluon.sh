#!/usr/bin/env bash
# Create bench/.venv-autogluon for the suite's AutoGluon anchor (bench/suite/autogluon_system.py).
# AutoGluon lives in its own virtual environment, never in tk's venv nor in CI: it is a reference
# measured by hand, not a dependency. torch 2.13.0 (CPU wheel, found locally by pip) goes in FIRST
# so that the resolver keeps it instead of pulling a multi-GB CUDA build; then autogluon.tabular
# 1.6 with the extras its "medium" preset trains (LightGBM, CatBoost, XGBoost, fastai; NN_TORCH,
# RF and XT need nothing more). The installed version goes to bench/.venv-autogluon/AUTOGLUON_VERSION,
# a failure's reason to AUTOGLUON_FAILED.
# Usage: bash bench/suite/setup_autogluon.sh   (re-running is safe; it reuses the venv)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/bench/.venv-autogluon"
PY="$VENV/bin/python"
SPEC="${AUTOGLUON_SPEC:-autogluon.tabular[lightgbm,catboost,xgboost,fastai]==1.6.*}"

fail() { echo "FAILED: $*" | tee "$VENV/AUTOGLUON_FAILED"; exit 1; }
if [ ! -x "$PY" ]; then
  python3.11 -m venv "$VENV" || { echo "FAILED: python3.11 -m venv $VENV"; exit 1; }
fi
"$PY" -m pip install --upgrade pip wheel setuptools || fail "pip upgrade in $VENV"
"$PY" -m pip install "torch==2.13.0" || fail "pip install torch==2.13.0 (the CPU wheel)"
"$PY" -m pip install "$SPEC" "torch==2.13.0" || fail "pip install $SPEC beside torch==2.13.0"
VERSION="$("$PY" -c "import autogluon.tabular as t; print(t.__version__)")" || fail "import autogluon.tabular"
"$PY" -c "import torch, lightgbm, catboost, xgboost, fastai; print('torch', torch.__version__)" \
  || fail "importing the medium preset's model libraries"
echo "$VERSION" > "$VENV/AUTOGLUON_VERSION"
rm -f "$VENV/AUTOGLUON_FAILED"
echo "OK autogluon.tabular $VERSION"
