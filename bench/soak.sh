#!/usr/bin/env bash
# bench/soak.sh — the soak benchmark: the stateful word count at a steady feed (bench/README.md).
#
#   bench/soak.sh [--minutes M] [--rate LINES_PER_S] [--keys K] [--interval D] [--sample S] [--build DIR]
#
# Builds (Release) into DIR (default build-bench), then for M minutes (default 10) feeds
# bench/pace's lines (8 words from K distinct ones, default 100000; RATE lines a second,
# default 20000) at the same rate to two consumers side by side: sluice running
# bench/soak.yaml (socket source -> update_state_by_key agg.running, checkpoints, 1 s
# batches unless --interval) and the hand-written C word count (bench/baseline/wordcount.c,
# reading a pipe), the baseline. Every S seconds (default 5) it samples both processes'
# resident memory and CPU time. At the end it prints RSS after warm-up (the first fifth of
# the run) and at the end for each, the CPU each used and the ratio sluice/baseline, the
# scheduling delay and processing time of sluice's batches (p50, p99, max, per fifth of the
# run), the checkpoint size (the state) over time, and checks: every line sent was taken
# in (records counted by the batches = lines sent), RSS flat after warm-up (end <= 1.15 x
# warm-up + 8 MiB), the scheduling delay bounded (p99 of the last fifth <= 2 intervals).
# Exits 1 if a check fails. Samples: bench/.data/soak/samples.tsv.
set -euo pipefail

MINUTES=10
RATE=20000
KEYS=100000
INTERVAL=1s
SAMPLE=5
BUILD=build-bench

usage() {
    sed -n '4p' "$0" | sed 's/^# *//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) MINUTES=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --keys) KEYS=${2:?}; shift 2 ;;
    --interval) INTERVAL=${2:?}; shift 2 ;;
    --sample) SAMPLE=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$RATE$KEYS$SAMPLE" in
*[!0-9]*) echo "soak.sh: --rate, --keys and --sample take whole numbers" >&2; exit 2 ;;
esac
case "$MINUTES" in
'' | *[!0-9.]*) echo "soak.sh: --minutes takes a number" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
RUN=bench/.data/soak
SECONDS_TOTAL=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
[ "$SECONDS_TOTAL" -ge 10 ] || { echo "soak.sh: --minutes must give at least 10 seconds" >&2; exit 2; }
PIDS=()

die() {
    echo "soak.sh: $*" >&2
    exit 1
}
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- build --------------------------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    echo "== configuring $BUILD (Release)"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
echo "== building $BUILD"
cmake --build "$BUILD" -j "$(nproc)" >/dev/null || die "build failed"
SLUICE=$BUILD/bin/sluice
PACE=$BUILD/bench/pace
BASE=$BUILD/bench/wordcount
for f in "$SLUICE" "$PACE" "$BASE"; do [ -x "$f" ] || die "$f was not built"; done

rm -rf "$RUN"
mkdir -p "$RUN"

# ---- run ----------------------------------------------------------------------------------
# sluice: pace serves the socket source; the baseline: a second pace, same seed, into a pipe.
"$PACE" -r "$RATE" -d "$SECONDS_TOTAL" -k "$KEYS" "$RUN/port" 2>"$RUN/pace-sluice.txt" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$RUN/port" ] && break; sleep 0.1; done
[ -s "$RUN/port" ] || die "pace did not start"
PORT=$(cat "$RUN/port") INTERVAL=$INTERVAL CHECKPOINT_DIR=$RUN/cp \
    "$SLUICE" run bench/soak.yaml --log-level info --no-status >/dev/null 2>"$RUN/sluice.log" &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
{ "$PACE" -r "$RATE" -d "$SECONDS_TOTAL" -k "$KEYS" - 2>"$RUN/pace-base.txt" |
    "$BASE" /dev/stdin "$RUN/base.out"; } &
PIDS+=($!)
sleep 0.2
BASE_PID=$(pgrep -n -f "^$BASE /dev/stdin") || die "the baseline did not start"

# pid -> "RSS_KIB CPU_S" (0 0 once it has exited)
sample() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0 0"; return; }
    awk -v tck="$(getconf CLK_TCK)" '/^VmRSS:/ { rss = $2 }
        END { split(stat, f, ") "); split(f[2], g, " "); printf "%d %.2f\n", rss, (g[12] + g[13]) / tck }' \
        stat="$st" "/proc/$1/status" 2>/dev/null || echo "0 0"
}

echo "== soaking for $SECONDS_TOTAL s: $RATE lines/s, $KEYS keys, $INTERVAL batches"
printf 't_s\tsluice_rss_kib\tsluice_cpu_s\tbase_rss_kib\tbase_cpu_s\n' >"$RUN/samples.tsv"
start=$(date +%s)
while kill -0 "$SLUICE_PID" 2>/dev/null; do
    t=$(($(date +%s) - start))
    printf '%d\t%s\t%s\n' "$t" "$(sample "$SLUICE_PID" | tr ' ' '\t')" \
        "$(sample "$BASE_PID" | tr ' ' '\t')" >>"$RUN/samples.tsv"
    [ "$t" -gt $((SECONDS_TOTAL + 120)) ] && die "sluice still runs 2 minutes after the feed ended"
    sleep "$SAMPLE"
done
wait "$SLUICE_PID" || die "sluice failed (exit $?): $(tail -n 5 "$RUN/sluice.log")"
wait || true

# ---- report -------------------------------------------------------------------------------
sent=$(sed -n 's/^lines=\([0-9]*\).*/\1/p' "$RUN/pace-sluice.txt")
taken=$(awk '/ INFO  batch / { for (i = 1; i <= NF; i++) if ($i == "records") n += $(i - 1) }
    END { print n + 0 }' "$RUN/sluice.log")
awk -v total="$SECONDS_TOTAL" -v sent="$sent" -v taken="$taken" -v rate="$RATE" -v keys="$KEYS" \
    -v interval="$INTERVAL" -v logf="$RUN/sluice.log" -F'\t' '
function pct(a, n, p,    i, j, t, k) {  # p-th percentile of a[1..n] (sorts a copy)
    for (i = 1; i <= n; i++) b[i] = a[i]
    for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j >= 1 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
    k = int(n * p / 100 + 0.999999); if (k < 1) k = 1; if (k > n) k = n
    return b[k]
}
NR > 1 && $2 > 0 {
    if ($1 <= total / 5) { warm_s = $2; warm_b = $4 }
    end_s = $2; cpu_s = $3
    if ($4 > 0) { end_b = $4; cpu_b = $5 }
}
END {
    ms = interval; unit = ms; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", ms)
    ms = unit == "s" ? ms * 1000 : unit == "m" ? ms * 60000 : ms
    while ((getline line < logf) > 0) {
        if (line ~ / INFO  batch /) {
            nb++
            match(line, /scheduling delay [0-9]+/); d[nb] = substr(line, RSTART + 17, RLENGTH - 17) + 0
            match(line, /processing [0-9]+/); pr[nb] = substr(line, RSTART + 11, RLENGTH - 11) + 0
        } else if (line ~ /checkpoint of batch .* written/) {
            match(line, /\([0-9]+ bytes/); nc++; ck[nc] = substr(line, RSTART + 1, RLENGTH - 7) + 0
        }
    }
    printf "\n| process | RSS after warm-up | RSS at the end | growth | CPU s |\n|---|---:|---:|---:|---:|\n"
    printf "| sluice | %.1f MiB | %.1f MiB | %.2fx | %.1f |\n", warm_s / 1024, end_s / 1024, end_s / warm_s, cpu_s
    printf "| baseline (C word count) | %.1f MiB | %.1f MiB | %.2fx | %.1f |\n", warm_b / 1024, end_b / 1024,
        (warm_b ? end_b / warm_b : 0), cpu_b
    printf "\nsluice/baseline: CPU %.2fx, RSS at the end %.2fx\n", (cpu_b ? cpu_s / cpu_b : 0), (end_b ? end_s / end_b : 0)
    printf "\n| fifth of the run | batches | sched. delay p50 / p99 / max ms | processing p50 / p99 / max ms | checkpoint bytes |\n|---|---:|---:|---:|---:|\n"
    for (f = 1; f <= 5; f++) {
        lo = int(nb * (f - 1) / 5) + 1; hi = int(nb * f / 5); n = 0; mx = 0; mp = 0
        delete x; delete y
        for (i = lo; i <= hi; i++) { n++; x[n] = d[i]; y[n] = pr[i]; if (d[i] > mx) mx = d[i]; if (pr[i] > mp) mp = pr[i] }
        c = ck[int(nc * f / 5) > 0 ? int(nc * f / 5) : 1]
        printf "| %d | %d | %d / %d / %d | %d / %d / %d | %d |\n", f, n, pct(x, n, 50), pct(x, n, 99), mx,
            pct(y, n, 50), pct(y, n, 99), mp, c
        if (f == 5) last_p99 = pct(x, n, 99)
    }
    printf "\nlines sent %d, records taken in by the batches %d\n", sent, taken
    bad = 0
    if (sent != taken || sent == 0) { print "CHECK FAILED: lines sent != records taken in"; bad = 1 }
    if (end_s > warm_s * 1.15 + 8192) { print "CHECK FAILED: sluice RSS grew after warm-up"; bad = 1 }
    if (last_p99 > 2 * ms) { printf "CHECK FAILED: p99 scheduling delay of the last fifth %d ms > 2 intervals\n", last_p99; bad = 1 }
    if (!bad) print "checks: every line taken in, RSS flat after warm-up, scheduling delay bounded"
    exit bad
}' "$RUN/samples.tsv"
