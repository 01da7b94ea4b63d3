#!/usr/bin/env bash
# scripts/quickstart.sh — from a fresh clone to a running pipeline:
# installs the Debian packages (scripts/deps.sh), builds a Release build in
# build/, then runs `sluice demo`: the network word count fed by a built-in
# loopback feeder, which prints a few batches and exits by itself.
#
# SLUICE_BUILD_DIR chooses another build tree (default: build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
build=${SLUICE_BUILD_DIR:-build}

"$root/scripts/deps.sh"

# Run a build step with its output in a log, shown only if the step fails.
step() {
    local what=$1 log
    shift
    echo "quickstart.sh: $what"
    log=$(mktemp "${TMPDIR:-/tmp}/sluice-quickstart.XXXXXX")
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "quickstart.sh: $what failed (output above)" >&2
        exit 1
    fi
    rm -f "$log"
}

step "configuring $build/ (Release)" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
step "building with $jobs jobs" cmake --build "$build" --parallel "$jobs"

echo "quickstart.sh: running $build/bin/sluice demo"
echo
exec "$build/bin/sluice" demo
