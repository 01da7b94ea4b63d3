#!/usr/bin/env bash
# scripts/test.sh — the whole check, as CI runs it (.ci/run):
#
#   1. deps      scripts/deps.sh (Debian packages), then scripts/kafka.sh start:
#                the Apache Kafka broker of the Kafka tests (SLUICE_KAFKA_BROKERS),
#                stopped again when this script exits, whatever happens
#   2. build     build/ with -Werror, then ctest (unit + integration)
#   3. asan      build-asan/ with ASan + UBSan and -Werror, then ctest again
#   4. format    clang-format --dry-run -Werror on every .c/.h of the repo
#   5. layers    scripts/include-cycles.py: no #include cycle among core's modules
#
# Every phase runs even when an earlier one failed, so that one run shows
# everything that is wrong. It prints one summary line per phase and, as its
# LAST line, "test.sh: N passed, M failed": N and M add up the tests of both
# ctest runs; a phase that fails without running tests (configure, build or
# the format check) counts as one failure. Exit status: 0 only if M is 0.
#
# Environment:
#   SLUICE_TEST_TIMEOUT  per-test timeout in seconds (default 300)
#   SLUICE_TEST_JOBS     parallel tests (default 2)
#   SLUICE_SKIP_ASAN=1   skip phase 3 (local iterations only; CI runs it)
#   SLUICE_BUILD_DIR, SLUICE_ASAN_BUILD_DIR
#                        build trees (default build, build-asan), relative to
#                        the repo root: e.g. to keep your own build/ untouched
#   SLUICE_KEEP_WORK=1   an integration test that fails keeps its work directory
#                        (its logs and files) and names it
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
test_jobs=${SLUICE_TEST_JOBS:-2}
timeout=${SLUICE_TEST_TIMEOUT:-300}
build_dir=${SLUICE_BUILD_DIR:-build}
asan_dir=${SLUICE_ASAN_BUILD_DIR:-build-asan}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
export SLUICE_KAFKA_DIR="$logdir/kafka"
# The broker goes with this script, also on failure or ^C.
trap '"$root/scripts/kafka.sh" stop >/dev/null 2>&1; rm -rf "$logdir"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
summary=()

note() { printf 'test.sh: %s\n' "$*"; }

# Run a command with its output in $logdir/$1.log; show the log on failure.
quiet() {
    local name=$1
    shift
    if "$@" >"$logdir/$name.log" 2>&1; then
        return 0
    fi
    cat "$logdir/$name.log"
    return 1
}

# configure_and_build DIR CMAKE_ARGS...: configure and build one tree.
configure_and_build() {
    local dir=$1
    shift
    note "configuring $dir/ ($*)"
    quiet "configure-${dir//\//_}" cmake -S . -B "$dir" -DSLUICE_BUILD_TESTS=ON "$@" || {
        note "configure of $dir/ FAILED"
        return 1
    }
    note "building $dir/ with $jobs jobs"
    quiet "build-${dir//\//_}" cmake --build "$dir" --parallel "$jobs" || {
        note "build of $dir/ FAILED"
        return 1
    }
}

# run_ctest DIR PHASE: run the suite in DIR, add its counts to the totals and
# record a summary line for PHASE.
run_ctest() {
    local dir=$1 phase=$2 log="$logdir/ctest-${1//\//_}.log" line total nfail
    note "running ctest in $dir/ (-j$test_jobs, timeout ${timeout}s per test)"
    (cd "$dir" && ctest --output-on-failure --timeout "$timeout" -j"$test_jobs") 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    # "100% tests passed, 0 tests failed out of 84"
    line=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        nfail=$(echo "$line" | awk '{print $1}')
        total=$(echo "$line" | awk '{print $NF}')
    elif grep -q 'No tests were found' "$log"; then
        nfail=0
        total=0
    else
        # ctest itself failed before its summary: count it as one failure.
        nfail=1
        total=1
    fi
    if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
        nfail=1 # failed without a failing test (e.g. a bad test file)
        total=$((total + 1))
    fi
    passed=$((passed + total - nfail))
    failed=$((failed + nfail))
    summary+=("$phase: $((total - nfail)) passed, $nfail failed")
}

# ---- 1. deps ----------------------------------------------------------------
if "$root/scripts/deps.sh"; then
    summary+=("deps: ok")
else
    summary+=("deps: FAILED")
    failed=$((failed + 1))
fi
note "starting the Kafka broker for the Kafka tests"
if brokers=$("$root/scripts/kafka.sh" start 2>"$logdir/kafka-start.log" | sed -n 's/^BROKERS=//p') &&
    [ -n "$brokers" ]; then
    export SLUICE_KAFKA_BROKERS=$brokers
    summary+=("kafka: broker on $brokers")
else
    cat "$logdir/kafka-start.log"
    summary+=("kafka: broker FAILED to start (the Kafka tests fail)")
    failed=$((failed + 1))
fi

# ---- 2. normal build + tests -------------------------------------------------
if configure_and_build "$build_dir" -DSLUICE_WERROR=ON; then
    run_ctest "$build_dir" "tests"
else
    summary+=("tests: build FAILED")
    failed=$((failed + 1))
fi

# ---- 3. ASan + UBSan build + tests -------------------------------------------
if [ "${SLUICE_SKIP_ASAN:-0}" = "1" ]; then
    summary+=("asan+ubsan: skipped (SLUICE_SKIP_ASAN=1)")
elif configure_and_build "$asan_dir" -DSLUICE_ASAN=ON -DSLUICE_UBSAN=ON -DSLUICE_WERROR=ON \
    -DSLUICE_BUILD_BENCH=OFF; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_ctest "$asan_dir" "asan+ubsan"
    unset ASAN_OPTIONS UBSAN_OPTIONS
else
    summary+=("asan+ubsan: build FAILED")
    failed=$((failed + 1))
fi

# ---- 4. clang-format ---------------------------------------------------------
note "checking the format of every .c/.h (clang-format $(clang-format --version 2>/dev/null |
    grep -Eo '[0-9]+\.[0-9.]+' | head -n 1))"
mapfile -d '' sources < <(find . \( -path './build*' -o -path './bench/.data' -o -path './.git' \) \
    -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
if [ "${#sources[@]}" -eq 0 ]; then
    summary+=("format: no sources")
elif clang-format --dry-run -Werror "${sources[@]}" >"$logdir/format.log" 2>&1; then
    summary+=("format: ok (${#sources[@]} files)")
else
    bad=$(grep -Eo '^[^:]+:[0-9]+:[0-9]+: error' "$logdir/format.log" | cut -d: -f1 | sort -u)
    head -n 60 "$logdir/format.log"
    echo "files that need clang-format -i:"
    awk '{print "  " $0}' <<<"$bad"
    summary+=("format: FAILED ($(echo "$bad" | grep -c .) of ${#sources[@]} files)")
    failed=$((failed + 1))
fi

# ---- 5. layers --------------------------------------------------------------
note "checking that core's modules include each other without a cycle"
if python3 "$root/scripts/include-cycles.py" >"$logdir/layers.log" 2>&1; then
    summary+=("layers: ok ($(tail -n 1 "$logdir/layers.log" | sed 's/^include-cycles: //'))")
else
    cat "$logdir/layers.log"
    summary+=("layers: FAILED (see docs/architecture.md)")
    failed=$((failed + 1))
fi

# ---- summary -----------------------------------------------------------------
echo
for s in "${summary[@]}"; do
    note "$s"
done
echo "test.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
