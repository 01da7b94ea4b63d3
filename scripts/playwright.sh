#!/usr/bin/env bash
# scripts/playwright.sh — playwright-core, the driver of the web page's test
# (tests/integration/test_http_page.sh): a pinned release from the npm
# registry, installed once into a cache outside the repo, never committed.
# It drives Debian's Chromium (/usr/bin/chromium, scripts/deps.sh): the
# playwright-core package downloads no browser of its own.
#
#   scripts/playwright.sh install   install it if missing; print NODE_PATH=DIR
#   scripts/playwright.sh path      print NODE_PATH=DIR (exit 1 if not installed)
#
# Environment: SLUICE_NPM_CACHE (default ~/.cache/sluice-npm); the package
# goes to $SLUICE_NPM_CACHE/playwright/VERSION. Needs node and npm.
set -euo pipefail

VERSION=1.65.1
cache=${SLUICE_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-npm}
dir=$cache/playwright/$VERSION

installed() {
    [ -f "$dir/node_modules/playwright-core/package.json" ] &&
        grep -q "\"version\": \"$VERSION\"" "$dir/node_modules/playwright-core/package.json"
}

case "${1:-}" in
install)
    if ! installed; then
        command -v npm >/dev/null || { echo "playwright.sh: npm is missing (scripts/deps.sh)" >&2; exit 1; }
        mkdir -p "$dir"
        log=$(mktemp "${TMPDIR:-/tmp}/playwright-npm.XXXXXX")
        if ! npm install --no-audit --no-fund --no-save --prefix "$dir" "playwright-core@$VERSION" \
            >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "playwright.sh: npm install playwright-core@$VERSION failed" >&2
            exit 1
        fi
        rm -f "$log"
        installed || {
            echo "playwright.sh: playwright-core $VERSION is not in $dir after npm install" >&2
            exit 1
        }
    fi
    echo "NODE_PATH=$dir/node_modules"
    ;;
path)
    installed || { echo "playwright.sh: not installed (scripts/playwright.sh install)" >&2; exit 1; }
    echo "NODE_PATH=$dir/node_modules"
    ;;
*)
    sed -n '8,9p' "$0" | sed 's/^# *//' >&2
    exit 2
    ;;
esac
