#!/usr/bin/env bash
# scripts/zeromq-js.sh — the npm package `zeromq` (zeromq.js), the second
# outside ZeroMQ implementation of the tests (beside pyzmq): a pinned release
# from the npm registry, installed once into a cache outside the repo, never
# committed. 6.8.0 ships prebuilt addons for linux x64 (node ABI 115 = node
# 20, glibc) inside the npm tarball, so nothing else is downloaded; its
# install script only checks that the addon loads.
#
#   scripts/zeromq-js.sh install   install it if missing; print NODE_PATH=DIR
#   scripts/zeromq-js.sh path      print NODE_PATH=DIR (exit 1 if not installed)
#
# Environment: SLUICE_ZEROMQ_JS_CACHE (default ~/.cache/sluice/zeromq).
# Needs node and npm (scripts/deps.sh installs them when missing).
set -euo pipefail

VERSION=6.8.0
cache=${SLUICE_ZEROMQ_JS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/zeromq}
dir=$cache/$VERSION

installed() {
    [ -f "$dir/node_modules/zeromq/package.json" ] &&
        grep -q "\"version\": \"$VERSION\"" "$dir/node_modules/zeromq/package.json" &&
        NODE_PATH="$dir/node_modules" node -e 'require("zeromq")' 2>/dev/null
}

case "${1:-}" in
install)
    if ! installed; then
        command -v npm >/dev/null || { echo "zeromq-js.sh: npm is missing (scripts/deps.sh)" >&2; exit 1; }
        mkdir -p "$dir"
        log=$(mktemp "${TMPDIR:-/tmp}/zeromq-npm.XXXXXX")
        if ! npm install --no-audit --no-fund --no-save --prefix "$dir" "zeromq@$VERSION" \
            >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "zeromq-js.sh: npm install zeromq@$VERSION failed" >&2
            exit 1
        fi
        rm -f "$log"
        installed || { echo "zeromq-js.sh: zeromq $VERSION is not in $dir after npm install" >&2; exit 1; }
    fi
    echo "NODE_PATH=$dir/node_modules"
    ;;
path)
    installed || { echo "zeromq-js.sh: not installed (scripts/zeromq-js.sh install)" >&2; exit 1; }
    echo "NODE_PATH=$dir/node_modules"
    ;;
*)
    sed -n '6,7p' "$0" | sed 's/^# *//' >&2
    exit 2
    ;;
esac
