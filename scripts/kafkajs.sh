#!/usr/bin/env bash
# scripts/kafkajs.sh — kafkajs, the second outside Kafka client of the tests
# (beside kcat): a pinned release from the npm registry, installed once into
# a cache outside the repo, never committed.
#
#   scripts/kafkajs.sh install   install it if missing; print NODE_PATH=DIR
#   scripts/kafkajs.sh path      print NODE_PATH=DIR (exit 1 if not installed)
#
# Environment: SLUICE_KAFKAJS_CACHE (default ~/.cache/sluice/kafkajs).
# Needs node and npm (scripts/deps.sh installs them when missing).
set -euo pipefail

VERSION=2.2.4
cache=${SLUICE_KAFKAJS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/kafkajs}
dir=$cache/$VERSION

installed() {
    [ -f "$dir/node_modules/kafkajs/package.json" ] &&
        grep -q "\"version\": \"$VERSION\"" "$dir/node_modules/kafkajs/package.json"
}

case "${1:-}" in
install)
    if ! installed; then
        command -v npm >/dev/null || { echo "kafkajs.sh: npm is missing (scripts/deps.sh)" >&2; exit 1; }
        mkdir -p "$dir"
        log=$(mktemp "${TMPDIR:-/tmp}/kafkajs-npm.XXXXXX")
        if ! npm install --no-audit --no-fund --no-save --prefix "$dir" "kafkajs@$VERSION" \
            >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "kafkajs.sh: npm install kafkajs@$VERSION failed" >&2
            exit 1
        fi
        rm -f "$log"
        installed || { echo "kafkajs.sh: kafkajs $VERSION is not in $dir after npm install" >&2; exit 1; }
    fi
    echo "NODE_PATH=$dir/node_modules"
    ;;
path)
    installed || { echo "kafkajs.sh: not installed (scripts/kafkajs.sh install)" >&2; exit 1; }
    echo "NODE_PATH=$dir/node_modules"
    ;;
*)
    sed -n '6,7p' "$0" | sed 's/^# *//' >&2
    exit 2
    ;;
esac
