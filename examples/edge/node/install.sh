#!/bin/sh
# Install the pinned onnxruntime-node and onnxruntime-web from package-lock.json (npm ci).
# Called by `make test`; safe to run again: it does nothing while node_modules matches the lock file.
# Without npm it prints a message and exits 0 (tests/test_edge_node.py then skips, saying why).
set -eu
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
    echo "examples/edge/node: npm not found; skipping the onnxruntime-node/-web install (edge tests will skip)"
    exit 0
fi

stamp=node_modules/.tk-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -d node_modules/onnxruntime-node ] && [ -d node_modules/onnxruntime-web ]; then
    exit 0
fi

# onnxruntime-node's postinstall downloads CUDA provider libraries from NuGet on linux/x64;
# the CPU runtime is already in the npm package, so skip that unless asked for
# (ONNXRUNTIME_NODE_INSTALL=cuda12 sh install.sh).
ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
export ONNXRUNTIME_NODE_INSTALL
echo "examples/edge/node: npm ci (onnxruntime-node, onnxruntime-web from package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
