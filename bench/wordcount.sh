#!/usr/bin/env bash
# bench/wordcount.sh — the word count benchmark, in one command (bench/README.md).
#
#   bench/wordcount.sh [--size BYTES] [--build DIR] [--seed N] [--runs N] [--skip-sluice]
#
# Builds (Release) into DIR (default build-bench, relative to the repo root), generates a
# Zipf corpus into bench/.data (cached by size and seed), then times, each on its own:
# the single-loop C baseline, mawk, sluice over a loopback TCP socket (1 s batches) and
# sluice through the queue path (manual clock), each sluice variant with 1 worker and with
# one per core. Checks that every word->count result is identical to the baseline's (exit 1
# with the differing words if not) and prints seconds, MB/s, peak RSS and the ratios
# sluice/baseline and sluice/mawk. --runs N keeps the fastest of N runs of each case.
set -euo pipefail

SIZE=200000000
SEED=42
BUILD=build-bench
RUNS=1
SKIP_SLUICE=0
TIMEOUT=600 # seconds any one run may take
ARGS="$*"

usage() {
    sed -n '4p' "$0" | sed 's/^# *//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --skip-sluice) SKIP_SLUICE=1; shift ;;
    -h | --help) usage ;;
    *) echo "wordcount.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$SIZE$SEED$RUNS" in
*[!0-9]*) echo "wordcount.sh: --size, --seed and --runs take numbers" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
NPROC=$(nproc)
DATA=bench/.data
RUN=$DATA/run
mkdir -p "$DATA" "$RUN"
FEED_PID=

die() {
    echo "wordcount.sh: $*" >&2
    exit 1
}
cleanup() {
    if [ -n "$FEED_PID" ]; then kill "$FEED_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# ---- build --------------------------------------------------------------------------------

# Configure (once, Release) and build; the tools land in $TOOLS, the engine in $SLUICE.
build() {
    local src=. dir=$BUILD
    if [ "$SKIP_SLUICE" = 1 ]; then
        src=bench
        dir=$BUILD/bench-tools
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        echo "== configuring $dir (Release)"
        cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release >"$dir/configure.log" 2>&1 ||
            { cat "$dir/configure.log" >&2; die "cmake configure failed"; }
    elif ! grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=Release$' "$dir/CMakeCache.txt"; then
        echo "warning: $dir is not a Release build; figures will not be representative" >&2
    fi
    echo "== building $dir"
    cmake --build "$dir" -j "$NPROC" >"$dir/build.log" 2>&1 ||
        { tail -n 40 "$dir/build.log" >&2; die "build failed (full log: $dir/build.log)"; }
    if [ "$SKIP_SLUICE" = 1 ]; then
        TOOLS=$dir
    else
        TOOLS=$dir/bench
        SLUICE=$dir/bin/sluice
        [ -x "$SLUICE" ] || die "$SLUICE was not built"
    fi
}

# ---- data ---------------------------------------------------------------------------------

# The corpus and its queue-format copy, generated once per size and seed ("v1": bump when
# the generator's output changes, so that a stale cache is never reused).
prepare_data() {
    CORPUS=$DATA/corpus-v1-$SIZE-$SEED.txt
    if [ ! -f "$CORPUS" ]; then
        echo "== generating $CORPUS"
        "$TOOLS/gen_corpus" "$CORPUS" "$SIZE" "$SEED"
    fi
    BYTES=$(stat -c %s "$CORPUS")
    [ "$BYTES" -gt 0 ] || die "$CORPUS is empty (--size too small?)"
    QBATCH=$(((BYTES + 9) / 10)) # ~10 batches: 20 MB each at the default size
    QUEUE=$DATA/queue-v1-$SIZE-$SEED-$QBATCH.jsonl
    if [ "$SKIP_SLUICE" = 0 ] && [ ! -f "$QUEUE" ]; then
        echo "== converting the corpus into $QUEUE"
        "$TOOLS/mkqueue" "$CORPUS" "$QUEUE" "$QBATCH"
    fi
}

# ---- runs ---------------------------------------------------------------------------------

declare -A WALL RSS

# measure NAME STDOUT CMD...: run CMD under runstat; keep the fastest wall time of NAME
# (and the peak RSS of that run). stderr goes to $RUN/NAME.log, shown if the run fails.
measure() {
    local name=$1 out=$2 rc=0
    shift 2
    "$TOOLS/runstat" -t "$TIMEOUT" "$RUN/$name.stat" "$@" >"$out" 2>"$RUN/$name.log" || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 20 "$RUN/$name.log" >&2
        die "$name failed with exit status $rc: $*"
    fi
    if [ -s "$RUN/$name.log" ]; then
        echo "   note: $name wrote to stderr ($RUN/$name.log):" >&2
        head -n 5 "$RUN/$name.log" | sed 's/^/     /' >&2
    fi
    local w r
    read -r w r <"$RUN/$name.stat"
    if [ -z "${WALL[$name]:-}" ] || awk -v a="$w" -v b="${WALL[$name]}" 'BEGIN{exit !(a < b)}'; then
        WALL[$name]=$w
        RSS[$name]=$r
    fi
    printf '   %-16s %8.3f s  %8.1f MiB\n' "$name" "$w" "$(awk -v r="$r" 'BEGIN{print r/1024}')"
}

run_baseline() {
    measure baseline /dev/null "$TOOLS/wordcount" "$CORPUS" "$RUN/baseline.out"
}

run_mawk() {
    local prog='{for(i=1;i<=NF;i++)c[$i]++} END{for(w in c) print w "\t" c[w]}'
    measure mawk "$RUN/mawk.out" mawk "$prog" "$CORPUS"
}

# run_tcp NAME WORKERS: feed serves the corpus on an ephemeral port; sluice connects to it.
run_tcp() {
    local name=$1 workers=$2 port
    rm -f "$RUN/port" "$RUN/$name.jsonl"
    "$TOOLS/feed" -t 60 "$CORPUS" "$RUN/port" 2>"$RUN/$name.feed.log" &
    FEED_PID=$!
    for _ in $(seq 200); do
        [ -s "$RUN/port" ] && break
        kill -0 "$FEED_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$RUN/port" ] || { cat "$RUN/$name.feed.log" >&2; die "feed did not start"; }
    port=$(cat "$RUN/port")
    measure "$name" /dev/null env PORT="$port" OUT="$RUN/$name.jsonl" \
        "$SLUICE" run bench/wordcount_socket.yaml --workers "$workers" --log-level warn
    wait "$FEED_PID" || { cat "$RUN/$name.feed.log" >&2; die "feed failed during $name"; }
    FEED_PID=
    "$TOOLS/jsonl_sum" "$RUN/$name.jsonl" "$RUN/$name.out"
}

# run_queue NAME WORKERS: the queue source replays one batch per line, manual clock.
run_queue() {
    local name=$1 workers=$2
    rm -f "$RUN/$name.jsonl"
    measure "$name" /dev/null env QUEUE="$QUEUE" OUT="$RUN/$name.jsonl" \
        "$SLUICE" run bench/wordcount_queue.yaml --workers "$workers" --clock manual \
        --log-level warn
    "$TOOLS/jsonl_sum" "$RUN/$name.jsonl" "$RUN/$name.out"
}

# ---- checks -------------------------------------------------------------------------------

FAILED=0

# check NAME: NAME's word->count totals must equal the baseline's, byte for byte once sorted;
# otherwise print how many words differ and the first of them.
check() {
    local name=$1
    sort "$RUN/$name.out" >"$RUN/$name.sorted"
    if cmp -s "$RUN/baseline.sorted" "$RUN/$name.sorted"; then
        return 0
    fi
    FAILED=1
    sort -t "$(printf '\t')" -k1,1 "$RUN/baseline.out" >"$RUN/baseline.k1"
    sort -t "$(printf '\t')" -k1,1 "$RUN/$name.out" >"$RUN/$name.k1"
    join -t "$(printf '\t')" -a1 -a2 -e '(none)' -o 0,1.2,2.2 "$RUN/baseline.k1" "$RUN/$name.k1" |
        awk -F'\t' '$2 != $3' >"$RUN/$name.diff"
    echo "MISMATCH: $name differs from the baseline for $(wc -l <"$RUN/$name.diff") words" \
        "(baseline: $(wc -l <"$RUN/baseline.out") words, $name: $(wc -l <"$RUN/$name.out");" \
        "all in $RUN/$name.diff). First differences (word, baseline, $name):" >&2
    head -n 20 "$RUN/$name.diff" | sed 's/^/   /' >&2
    local tb tn
    tb=$(awk -F'\t' '{s += $2} END {print s + 0}' "$RUN/baseline.out")
    tn=$(awk -F'\t' '{s += $2} END {print s + 0}' "$RUN/$name.out")
    echo "   total word occurrences: $tb in the baseline, $tn in $name" >&2
}

# ---- report -------------------------------------------------------------------------------

# One table row: name, workers, seconds, MB/s, peak RSS, ratios to baseline and mawk.
row() {
    local key=$1 label=$2 workers=$3
    awk -v label="$label" -v wk="$workers" -v t="${WALL[$key]}" -v rss="${RSS[$key]}" \
        -v tb="${WALL[baseline]}" -v tm="${WALL[mawk]}" -v bytes="$BYTES" 'BEGIN {
        printf "%-24s %7s %9.3f %9.1f %12.1f %11.2fx %9.2fx\n", label, wk, t, bytes / 1e6 / t,
            rss / 1024, tb / t, tm / t
    }'
}

# target KEY LABEL: the issue's targets, >= 0.5x baseline (1 worker) and >= 4x mawk.
target() {
    local key=$1 label=$2 workers=$3
    awk -v label="$label" -v wk="$workers" -v t="${WALL[$key]}" -v tb="${WALL[baseline]}" \
        -v tm="${WALL[mawk]}" 'BEGIN {
        b = tb / t; m = tm / t
        okb = b >= 0.5 ? "met" : "NOT met"
        okm = m >= 4 ? "met" : "NOT met"
        if (wk == 1)
            printf "  %-24s %5.2fx baseline (target >= 0.5x: %s), %5.2fx mawk (target >= 4x: %s)\n",
                label " (1 worker)", b, okb, m, okm
        else
            printf "  %-24s %5.2fx baseline, %5.2fx mawk (target >= 4x: %s)\n",
                label " (" wk " workers)", b, m, okm
    }'
}

machine() {
    local model mem
    model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    echo "${model:-unknown CPU}, $NPROC cores, $mem, Linux $(uname -r)"
}

# ---- main ---------------------------------------------------------------------------------

build
prepare_data
command -v mawk >/dev/null || die "mawk is not installed (apt-get install mawk)"

cat "$CORPUS" >/dev/null # every case starts with the corpus in the page cache
[ "$SKIP_SLUICE" = 1 ] || cat "$QUEUE" >/dev/null

WORKER_SET=1
[ "$NPROC" -gt 1 ] && WORKER_SET="1 $NPROC"

for round in $(seq "$RUNS"); do
    echo "== round $round of $RUNS"
    run_baseline
    run_mawk
    if [ "$SKIP_SLUICE" = 0 ]; then
        for w in $WORKER_SET; do run_tcp "tcp-w$w" "$w"; done
        for w in $WORKER_SET; do run_queue "queue-w$w" "$w"; done
    fi
    sort "$RUN/baseline.out" >"$RUN/baseline.sorted"
    check mawk
    if [ "$SKIP_SLUICE" = 0 ]; then
        for w in $WORKER_SET; do check "tcp-w$w"; check "queue-w$w"; done
    fi
done

echo
echo "sluice word count benchmark: bench/wordcount.sh $ARGS"
echo "machine: $(machine)"
echo "corpus:  $CORPUS: $BYTES bytes, $(wc -l <"$RUN/baseline.out") distinct words" \
    "(seed $SEED); queue: $({ wc -l <"$QUEUE"; } 2>/dev/null || echo 0) batches"
echo "runs:    fastest of $RUNS; MB = 10^6 bytes of corpus / wall seconds; RSS = peak resident"
echo
printf '%-24s %7s %9s %9s %12s %12s %10s\n' name workers seconds MB/s "peak RSS MiB" \
    "vs baseline" "vs mawk"
row baseline "baseline (C, 1 thread)" 1
row mawk "mawk" 1
if [ "$SKIP_SLUICE" = 0 ]; then
    for w in $WORKER_SET; do row "tcp-w$w" "sluice tcp (1 s batches)" "$w"; done
    for w in $WORKER_SET; do row "queue-w$w" "sluice queue (manual)" "$w"; done
    echo
    echo "targets:"
    for w in $WORKER_SET; do target "tcp-w$w" "sluice tcp" "$w"; done
    for w in $WORKER_SET; do target "queue-w$w" "sluice queue" "$w"; done
fi
echo
if [ "$FAILED" != 0 ]; then
    echo "FAILED: results differ from the baseline (see MISMATCH above)" >&2
    exit 1
fi
echo "results: all word counts identical to the baseline's"
