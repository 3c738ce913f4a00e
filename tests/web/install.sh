#!/bin/sh
# Install the pinned playwright-core from package-lock.json (npm ci) for tests/test_web.py.
# Safe to run again: it does nothing while node_modules matches the lock file.
# Without npm it prints a message and exits 0 (tests/test_web.py then skips, saying why).
# playwright-core downloads no browser: the tests drive Debian's chromium (/usr/bin/chromium).
set -eu
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
    echo "tests/web: npm not found; skipping the playwright-core install (browser tests will skip)"
    exit 0
fi

stamp=node_modules/.tk-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ]; then
    exit 0
fi
echo "tests/web: npm ci (playwright-core from package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
