#!/usr/bin/env bash
# bench/spark.sh — sluice against Apache Spark Streaming 3.5.9 (issue 11), in one command.
#
#   bench/spark.sh [--size BYTES] [--seed N] [--build DIR] [--rate LINES_PER_S] [--seconds S] [--skip-latency]
#
# Throughput: serves the same Zipf corpus (bench/gen_corpus, default 50 MB; the issue's
# 200 MB with --size 200000000) through the same one-shot TCP feeder (bench/feed) to
# Spark's network word count (bench/spark, Java API: socketTextStream, flatMap, mapToPair,
# reduceByKey; local[1] and local[2]), Spark's stateful word count (updateStateByKey,
# local[2]), sluice (bench/wordcount_socket.yaml, 1 and 2 workers) and sluice's stateful
# word count (bench/wordcount_socket_state.yaml: update_state_by_key, checkpointed every
# batch as Spark's; 2 workers; the last batch's state is the totals), 1 s batches. Checks
# that every word's total equals the single-loop C baseline's (exit 1 if not) and prints
# wall time (JVM start included for Spark), MB/s, peak RSS and sluice/Spark ratios.
# Latency: bench/pace feeds each system at a steady rate for S seconds (default 20) with a
# 1 s and a 100 ms interval; prints p50/p99 of each system's own per-batch total delay
# (Spark: a StreamingListener's totalDelay; sluice: its "total delay" log line), over
# batches that held records.
# Spark's jars are fetched once with mvn into ${SLUICE_SPARK_CACHE:-~/.cache/sluice-spark},
# outside the repository; needs mvn, javac and java 17.
set -euo pipefail

SIZE=50000000
SEED=42
BUILD=build-bench
RATE=20000
SECONDS_LAT=20
SKIP_LAT=0
TIMEOUT=600
ARGS="$*"
usage() { sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --seconds) SECONDS_LAT=${2:?}; shift 2 ;;
    --skip-latency) SKIP_LAT=1; shift ;;
    -h | --help) usage ;;
    *) echo "spark.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$SIZE$SEED$RATE$SECONDS_LAT" in
*[!0-9]*) echo "spark.sh: --size, --seed, --rate and --seconds take numbers" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
DATA=bench/.data
RUN=$DATA/spark
mkdir -p "$DATA" "$RUN"
PIDS=()
die() { echo "spark.sh: $*" >&2; exit 1; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# ---- build: sluice and the bench tools (Release), Spark's jars and the two programs ---------
# shellcheck source=spark/lib.sh
source bench/spark/lib.sh
spark_setup
SPARK=("${SPARK_JAVA[@]}" sluice.bench.WordCount)

# ---- data ---------------------------------------------------------------------------------
CORPUS=$DATA/corpus-v1-$SIZE-$SEED.txt # the same cache as bench/wordcount.sh
[ -f "$CORPUS" ] || "$TOOLS/gen_corpus" "$CORPUS" "$SIZE" "$SEED"
BYTES=$(stat -c %s "$CORPUS")
"$TOOLS/wordcount" "$CORPUS" "$RUN/baseline.out" >/dev/null
sort "$RUN/baseline.out" >"$RUN/baseline.sorted"
cat "$CORPUS" >/dev/null

# ---- throughput ---------------------------------------------------------------------------
declare -A WALL RSS NOTE

# serve FILE|pace-args: start bench/feed (or bench/pace) on an ephemeral port; sets PORT.
serve() {
    rm -f "$RUN/port"
    if [ "$1" = feed ]; then
        "$TOOLS/feed" -t 60 "$CORPUS" "$RUN/port" 2>"$RUN/feed.log" &
    else
        shift
        "$TOOLS/pace" "$@" "$RUN/port" 2>"$RUN/feed.log" &
    fi
    FEEDER=$!
    PIDS+=("$FEEDER")
    for _ in $(seq 200); do [ -s "$RUN/port" ] && break; sleep 0.05; done
    [ -s "$RUN/port" ] || { cat "$RUN/feed.log" >&2; die "feeder did not start"; }
    PORT=$(cat "$RUN/port")
}

# measure NAME LIMIT CMD...: run CMD under runstat (wall seconds, peak RSS KiB).
measure() {
    local name=$1 limit=$2 rc=0
    shift 2
    "$TOOLS/runstat" -t "$limit" "$RUN/$name.stat" "$@" >/dev/null 2>"$RUN/$name.log" || rc=$?
    read -r WALL[$name] RSS[$name] <"$RUN/$name.stat" || true
    return $rc
}

# check NAME: NAME's totals ($RUN/NAME.out, "word TAB total") against the baseline's.
FAILED=0
check() {
    sort "$RUN/$1.out" >"$RUN/$1.sorted"
    if ! cmp -s "$RUN/baseline.sorted" "$RUN/$1.sorted"; then
        FAILED=1
        echo "MISMATCH: $1: $(comm -3 "$RUN/baseline.sorted" "$RUN/$1.sorted" | wc -l) lines" \
            "differ from the baseline ($RUN/$1.sorted)" >&2
    fi
}
sum_tsv() { awk -F'\t' '{s[$1] += $2} END {for (w in s) print w "\t" s[w]}' "$1" >"$2"; }

spark_run() { # NAME MODE MASTER
    local name=$1 mode=$2 master=$3 rc=0
    serve feed
    measure "$name" "$TIMEOUT" "${SPARK[@]}" "$mode" 127.0.0.1 "$PORT" 1000 "$master" \
        "$RUN/$name.tsv" "$RUN/$name.lat" "$RUN/$name.ckpt" || rc=$?
    kill "$FEEDER" 2>/dev/null || true
    wait "$FEEDER" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 20 "$RUN/$name.log" >&2; die "$name failed ($rc)"; }
    if [ "$mode" = count ]; then sum_tsv "$RUN/$name.tsv" "$RUN/$name.out"; else cp "$RUN/$name.tsv" "$RUN/$name.out"; fi
    check "$name"
    printf '   %-18s %8.3f s\n' "$name" "${WALL[$name]}"
}

sluice_run() { # NAME WORKERS [state]
    local name=$1 rc=0 yaml=bench/wordcount_socket.yaml last
    [ "${3:-}" = state ] && yaml=bench/wordcount_socket_state.yaml
    serve feed
    rm -rf "$RUN/$name.jsonl" "$RUN/$name.ckpt"
    measure "$name" "$TIMEOUT" env PORT="$PORT" OUT="$RUN/$name.jsonl" CHECKPOINT_DIR="$RUN/$name.ckpt" \
        "$SLUICE" run "$yaml" --workers "$2" --log-level warn || rc=$?
    wait "$FEEDER" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 20 "$RUN/$name.log" >&2; die "$name failed ($rc)"; }
    if [ "${3:-}" = state ]; then
        # every batch writes the whole state: the last batch's lines are the totals
        last=$(tail -n 1 "$RUN/$name.jsonl" | sed -n 's/^{"time":\([0-9]*\),.*/\1/p')
        [ -n "$last" ] || die "$name: no output in $RUN/$name.jsonl"
        grep "^{\"time\":$last," "$RUN/$name.jsonl" >"$RUN/$name.last.jsonl"
        "$TOOLS/jsonl_sum" "$RUN/$name.last.jsonl" "$RUN/$name.out"
    else
        "$TOOLS/jsonl_sum" "$RUN/$name.jsonl" "$RUN/$name.out"
    fi
    check "$name"
    printf '   %-18s %8.3f s\n' "$name" "${WALL[$name]}"
}

echo "== throughput: $CORPUS ($BYTES bytes), 1 s batches"
# Spark's local[1] gives its one thread to the socket receiver and has none left for the
# batches (the Spark Streaming guide: local[n] needs n > the number of receivers): it is
# run for 30 s to show that no batch completes.
serve feed
rc=0
measure spark-local1 30 "${SPARK[@]}" count 127.0.0.1 "$PORT" 1000 'local[1]' \
    "$RUN/spark-local1.tsv" "$RUN/spark-local1.lat" || rc=$?
kill "$FEEDER" 2>/dev/null || true
wait "$FEEDER" 2>/dev/null || true
L1_DONE=$(awk -F'\t' '$3 > 0' "$RUN/spark-local1.lat" 2>/dev/null | wc -l)
echo "   spark-local1: exit $rc after ${WALL[spark-local1]:-?} s; batches with records completed: $L1_DONE"
spark_run spark-local2 count 'local[2]'
spark_run spark-state-local2 state 'local[2]'
sluice_run sluice-w1 1
sluice_run sluice-w2 2
sluice_run sluice-state-w2 2 state

# ---- latency ------------------------------------------------------------------------------
# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
pct() { sort -n "$1" | awk -v p="$2" '{a[NR] = $1} END {if (!NR) {print "-"; exit} i = int((p * NR + 99) / 100); if (i < 1) i = 1; print a[i]}'; }
declare -A P50 P99 NB
lat_run() { # INTERVAL_MS
    local ms=$1 rc=0 name
    name=lat-spark-$ms
    serve pace -r "$RATE" -d "$SECONDS_LAT"
    measure "$name" $((SECONDS_LAT + 120)) "${SPARK[@]}" count 127.0.0.1 "$PORT" "$ms" 'local[2]' \
        "$RUN/$name.tsv" "$RUN/$name.lat" || rc=$?
    kill "$FEEDER" 2>/dev/null || true
    wait "$FEEDER" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 20 "$RUN/$name.log" >&2; die "$name failed ($rc)"; }
    awk -F'\t' '$3 > 0 {print $2}' "$RUN/$name.lat" >"$RUN/$name.ms"
    name=lat-sluice-$ms
    serve pace -r "$RATE" -d "$SECONDS_LAT"
    measure "$name" $((SECONDS_LAT + 120)) env PORT="$PORT" OUT="$RUN/$name.jsonl" INTERVAL="${ms}ms" \
        "$SLUICE" run bench/spark_latency.yaml --workers 2 --log-level info || rc=$?
    wait "$FEEDER" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 20 "$RUN/$name.log" >&2; die "$name failed ($rc)"; }
    sed -n 's/.* \([0-9][0-9]*\) records .*total delay \([0-9][0-9]*\) ms.*/\1 \2/p' "$RUN/$name.log" |
        awk '$1 > 0 {print $2}' >"$RUN/$name.ms"
    for s in spark sluice; do
        P50[$s-$ms]=$(pct "$RUN/lat-$s-$ms.ms" 50)
        P99[$s-$ms]=$(pct "$RUN/lat-$s-$ms.ms" 99)
        NB[$s-$ms]=$(wc -l <"$RUN/lat-$s-$ms.ms")
    done
    echo "   interval $ms ms: done"
}
if [ "$SKIP_LAT" = 0 ]; then
    echo "== latency: bench/pace at $RATE lines/s (8 words each) for $SECONDS_LAT s, 2 cores each"
    lat_run 1000
    lat_run 100
fi

# ---- report -------------------------------------------------------------------------------
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
echo
echo "sluice vs Spark Streaming 3.5.9: bench/spark.sh $ARGS"
echo "machine: ${model:-unknown CPU}, $(nproc) cores, $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -n 1)"
echo "corpus:  $BYTES bytes, $(wc -l <"$RUN/baseline.out") distinct words (seed $SEED); Spark wall time includes JVM start"
echo
printf '%-34s %9s %9s %12s %14s\n' name seconds MB/s "peak RSS MiB" "vs spark l[2]"
row() {
    awk -v l="$2" -v t="${WALL[$1]}" -v r="${RSS[$1]}" -v ts="${WALL[spark-local2]}" -v b="$BYTES" \
        'BEGIN {printf "%-34s %9.3f %9.1f %12.1f %13.2fx\n", l, t, b / 1e6 / t, r / 1024, ts / t}'
}
row spark-local2 "spark count local[2]"
row spark-state-local2 "spark updateStateByKey local[2]"
row sluice-w1 "sluice socket, 1 worker"
row sluice-w2 "sluice socket, 2 workers"
row sluice-state-w2 "sluice update_state_by_key, 2 w."
awk -v a="${WALL[spark-state-local2]}" -v b="${WALL[sluice-state-w2]}" \
    'BEGIN {printf "stateful word count, spark updateStateByKey local[2] / sluice 2 workers: %.2fx\n", a / b}'
echo "spark count local[1]: $L1_DONE batches with records completed in ${WALL[spark-local1]:-?} s (receiver holds the only core)"
awk -v a="${RSS[spark-local2]}" -v b="${RSS[sluice-w1]}" -v c="${RSS[sluice-w2]}" \
    'BEGIN {printf "peak RSS, spark local[2] / sluice: %.1fx (1 worker), %.1fx (2 workers)\n", a / b, a / c}'
if [ "$SKIP_LAT" = 0 ]; then
    echo
    echo "per-batch total delay (ms), batches with records, $RATE lines/s for $SECONDS_LAT s:"
    printf '%-10s %-8s %8s %8s %8s\n' interval system batches p50 p99
    for ms in 1000 100; do
        for s in spark sluice; do
            printf '%-10s %-8s %8s %8s %8s\n' "${ms} ms" "$s" "${NB[$s-$ms]}" "${P50[$s-$ms]}" "${P99[$s-$ms]}"
        done
    done
fi
echo
[ "$FAILED" = 0 ] || { echo "FAILED: totals differ from the baseline (MISMATCH above)" >&2; exit 1; }
echo "results: every word's total identical to the baseline's (spark local[2] count and state, sluice 1 and 2 workers and state)"
