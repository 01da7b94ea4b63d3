#!/usr/bin/env bash
# bench/http.sh — what the HTTP server costs a run (issue 10: "never slows a batch").
#
#   bench/http.sh [--size BYTES] [--batches N] [--runs N] [--build DIR]
#
# The word count of bench/wordcount.sh through the queue path (manual clock: batches back
# to back, so that per-batch costs show), on a corpus cut into N batches (default 2000,
# ~25 KB each at the default 50 MB). Three cases, interleaved run by run, best of --runs:
#   off      no server (the baseline)
#   on       --http 127.0.0.1:PORT, nobody asking
#   scraped  --http, with a scraper that GETs /metrics, /api/v1/status and
#            /api/v1/batches?n=1000 (the largest answer) every 100 ms
# Checks that the three give the same counts, prints wall seconds, batches per second and
# the ratios on/off and scraped/off.
set -euo pipefail

SIZE=50000000
SEED=42
NBATCH=2000
RUNS=5
BUILD=build-bench
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --batches) NBATCH=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    -h | --help) sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2 ;;
    *) echo "http.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
case "$SIZE$NBATCH$RUNS" in
*[!0-9]*) echo "http.sh: --size, --batches and --runs take numbers" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
DATA=bench/.data
RUN=$DATA/run-http
mkdir -p "$DATA" "$RUN"
SCRAPER=
cleanup() { if [ -n "$SCRAPER" ]; then kill "$SCRAPER" 2>/dev/null || true; fi; }
trap cleanup EXIT
die() { echo "http.sh: $*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is missing (scripts/deps.sh installs it)"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    echo "== configuring $BUILD (Release)"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
echo "== building $BUILD"
cmake --build "$BUILD" -j "$(nproc)" >"$RUN/build.log" 2>&1 || { tail -30 "$RUN/build.log"; die "build failed"; }
SLUICE=$BUILD/bin/sluice
TOOLS=$BUILD/bench

CORPUS=$DATA/corpus-v1-$SIZE-$SEED.txt
[ -f "$CORPUS" ] || "$TOOLS/gen_corpus" "$CORPUS" "$SIZE" "$SEED"
BYTES=$(stat -c %s "$CORPUS")
QBATCH=$(((BYTES + NBATCH - 1) / NBATCH))
QUEUE=$DATA/queue-v1-$SIZE-$SEED-$QBATCH.jsonl
[ -f "$QUEUE" ] || "$TOOLS/mkqueue" "$CORPUS" "$QUEUE" "$QBATCH"
BATCHES=$(wc -l <"$QUEUE")

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# scrape PORT: GET the three endpoints every 100 ms until killed.
scrape() {
    local base=http://127.0.0.1:$1
    while :; do
        curl -s -o /dev/null "$base/metrics" || true
        curl -s -o /dev/null "$base/api/v1/status" || true
        curl -s -o /dev/null "$base/api/v1/batches?n=1000" || true
        sleep 0.1
    done
}

declare -A BEST
# one CASE: a run, its wall time kept when it is the best so far
one() {
    local name=$1 port http=() t0 t1 ms
    if [ "$name" != off ]; then
        port=$(free_port)
        http=(--http "127.0.0.1:$port")
    fi
    t0=$(date +%s%N)
    QUEUE=$QUEUE OUT=$RUN/$name.jsonl "$SLUICE" run bench/wordcount_queue.yaml --clock manual \
        --no-status "${http[@]}" 2>"$RUN/$name.log" &
    local pid=$!
    if [ "$name" = scraped ]; then
        scrape "$port" &
        SCRAPER=$!
    fi
    wait "$pid" || { tail "$RUN/$name.log" >&2; die "$name failed"; }
    t1=$(date +%s%N)
    if [ -n "$SCRAPER" ]; then kill "$SCRAPER" 2>/dev/null || true; wait "$SCRAPER" 2>/dev/null || true; SCRAPER=; fi
    ms=$(((t1 - t0) / 1000000))
    if [ -z "${BEST[$name]:-}" ] || [ "$ms" -lt "${BEST[$name]}" ]; then BEST[$name]=$ms; fi
}

echo "== $BATCHES batches of ~$QBATCH bytes ($BYTES bytes), best of $RUNS, interleaved"
for r in $(seq "$RUNS"); do
    for c in off on scraped; do one "$c"; done
    echo "   run $r: off ${BEST[off]} ms, on ${BEST[on]} ms, scraped ${BEST[scraped]} ms (best so far)"
done

# the same counts whatever the server did (the sink's per-batch lines, summed per word)
sum() { "$TOOLS/jsonl_sum" "$1" "$1.sum-raw" && sort "$1.sum-raw"; }
sum "$RUN/off.jsonl" >"$RUN/off.sum"
for c in on scraped; do
    sum "$RUN/$c.jsonl" | cmp -s - "$RUN/off.sum" || die "$c: the counts differ from off's"
done

printf '\n%-9s %9s %12s %8s\n' case "wall ms" "batches/s" "vs off"
for c in off on scraped; do
    awk -v c="$c" -v ms="${BEST[$c]}" -v off="${BEST[off]}" -v n="$BATCHES" \
        'BEGIN { printf "%-9s %9d %12.0f %8.3f\n", c, ms, n / (ms / 1000), ms / off }'
done
echo
echo "machine: $(nproc) cores, $(awk '/model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//')"
echo "command: bench/http.sh --size $SIZE --batches $NBATCH --runs $RUNS"
